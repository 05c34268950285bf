import { z } from "zod";
import { Duration } from "../duration.ts";
import { checkGroup, envelope } from "./metadata.ts";
import { IDENTIFIER, MAX_METHOD_NAME } from "../rpc/method.ts";

// Gateway API HTTPRoute (gateway.networking.k8s.io/v1), GAMMA style for east-west.

const MAX_REGEX = 256;
const Regex = z
  .string()
  .min(1)
  .max(MAX_REGEX, `regular expressions are limited to ${MAX_REGEX} characters`)
  .superRefine((src, ctx) => {
    try {
      new RegExp(src);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: `invalid regular expression: ${(e as Error).message}` });
      return;
    }
    // Nested quantifiers like (a+)+ backtrack exponentially: refuse them so no route can hang an edge.
    if (/\([^)]*[+*][^)]*\)[+*{]/.test(src) || /\\\d/.test(src))
      ctx.addIssue({ code: "custom", message: "regular expression has nested quantifiers or backreferences (catastrophic backtracking)" });
  });

export const PathMatch = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("Exact"), value: z.string().startsWith("/", "path must start with /") }),
  z.strictObject({ type: z.literal("PathPrefix"), value: z.string().startsWith("/", "path must start with /") }),
  z.strictObject({ type: z.literal("RegularExpression"), value: Regex }),
]);

const HeaderName = z.string().min(1).max(256).regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "invalid header name");

export const HeaderMatch = z.union([
  z.strictObject({ type: z.literal("Exact").default("Exact"), name: HeaderName, value: z.string().max(4096) }),
  z.strictObject({ type: z.literal("RegularExpression"), name: HeaderName, value: Regex }),
]);

export const QueryParamMatch = z.union([
  z.strictObject({ type: z.literal("Exact").default("Exact"), name: z.string().min(1).max(256), value: z.string().max(4096) }),
  z.strictObject({ type: z.literal("RegularExpression"), name: z.string().min(1).max(256), value: Regex }),
]);

export const Method = z.enum(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]);

const RpcName = z.string().min(1).max(MAX_METHOD_NAME);

/**
 * isomesh extension: a Workers RPC call, by entrypoint and method, as GRPCRoute's `method` matches
 * a gRPC call by service and method (GRPCRoute's service is the callee's entrypoint here: the
 * class a binding's `entrypoint:` names, `default` for the default export). `type` applies to
 * both names; an absent name matches any; at least one is required.
 */
export const RpcMatch = z
  .strictObject({
    type: z.enum(["Exact", "RegularExpression"]).default("Exact"),
    entrypoint: RpcName.optional(),
    method: RpcName.optional(),
  })
  .superRefine((m, ctx) => {
    if (m.entrypoint === undefined && m.method === undefined) ctx.addIssue({ code: "custom", message: "an rpc match needs an entrypoint or a method (or both)" });
    for (const key of ["entrypoint", "method"] as const) {
      const v = m[key];
      if (v === undefined) continue;
      if (m.type === "Exact" && !IDENTIFIER.test(v)) ctx.addIssue({ code: "custom", path: [key], message: `${key} must be a JS identifier (an Exact match names one ${key})` });
      if (m.type === "RegularExpression") {
        const checked = Regex.safeParse(v);
        if (!checked.success) for (const issue of checked.error.issues) ctx.addIssue({ code: "custom", path: [key], message: issue.message });
      }
    }
  });

export const RouteMatch = z
  .strictObject({
    path: PathMatch.default({ type: "PathPrefix", value: "/" }),
    headers: z.array(HeaderMatch).max(16).default([]),
    queryParams: z.array(QueryParamMatch).max(16).default([]),
    method: Method.optional(),
    rpc: RpcMatch.optional(),
  })
  .superRefine((m, ctx) => {
    // An RPC call has no path, headers, query or HTTP method: a match asking for both could never match.
    if (!m.rpc) return;
    const none = (key: string) => ctx.addIssue({ code: "custom", path: [key], message: `a match with rpc cannot also match on ${key}: a Workers RPC call has none` });
    if (!isCatchAllPath(m.path)) none("path");
    if (m.method !== undefined) none("method");
    if (m.headers.length) none("headers");
    if (m.queryParams.length) none("queryParams");
  });

/** The default path match (`PathPrefix /`): no condition on the path at all. */
export const isCatchAllPath = (p: z.infer<typeof PathMatch>) => p.type === "PathPrefix" && p.value === "/";

const HeaderValue = z.strictObject({ name: HeaderName, value: z.string().max(4096) });
export const HeaderModifier = z.strictObject({
  set: z.array(HeaderValue).default([]),
  add: z.array(HeaderValue).default([]),
  remove: z.array(HeaderName).default([]),
});

const PathModifier = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("ReplaceFullPath"), replaceFullPath: z.string().startsWith("/") }),
  z.strictObject({ type: z.literal("ReplacePrefixMatch"), replacePrefixMatch: z.string().startsWith("/") }),
]);

// Only what isomesh serves: a mesh Service (core group). Gateway API would accept any kind and
// answer 500; isomesh's services are fixed at deploy time, so refusing at apply is the honest answer.
const SERVED = "isomesh routes only to mesh services";
export const BackendRef = z.strictObject({
  group: z.literal("", { error: (i) => `${SERVED}: group must be "" (the core group of Service; got ${JSON.stringify(i.input)})` }).optional(),
  kind: z.literal("Service", { error: (i) => `${SERVED}: kind must be Service (got ${JSON.stringify(i.input)})` }).optional(),
  /** A service (routes on the gateway) or the parent service itself (GAMMA routes, with `version`). */
  name: z.string().min(1),
  /** Which version of the service (isomesh extension for GAMMA routes). */
  version: z.string().optional(),
  port: z.number().int().optional(),
  weight: z.number().int("weight must be an integer").min(0, "weight must be >= 0").max(1_000_000).default(1),
});

export const RouteFilter = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("RequestHeaderModifier"), requestHeaderModifier: HeaderModifier }),
  z.strictObject({ type: z.literal("ResponseHeaderModifier"), responseHeaderModifier: HeaderModifier }),
  z.strictObject({
    type: z.literal("RequestRedirect"),
    requestRedirect: z.strictObject({
      scheme: z.enum(["http", "https"]).optional(),
      hostname: z.string().optional(),
      port: z.number().int().min(1).max(65535).optional(),
      path: PathModifier.optional(),
      statusCode: z.union([z.literal(301), z.literal(302), z.literal(303), z.literal(307), z.literal(308)]).default(302),
    }),
  }),
  z.strictObject({
    type: z.literal("URLRewrite"),
    urlRewrite: z.strictObject({ hostname: z.string().optional(), path: PathModifier.optional() }),
  }),
  z.strictObject({
    type: z.literal("RequestMirror"),
    requestMirror: z.strictObject({
      backendRef: BackendRef.omit({ weight: true }),
      percent: z.number().int().min(0).max(100).optional(),
      fraction: z.strictObject({ numerator: z.number().int().min(0), denominator: z.number().int().min(1).default(100) }).optional(),
    }),
  }),
]);

/** Gateway API request and per-try (backendRequest) timeouts; the per-try one may not exceed the whole. */
export const RouteTimeouts = z.strictObject({ request: Duration.optional(), backendRequest: Duration.optional() }).superRefine((t, ctx) => {
  if (t.request !== undefined && t.backendRequest !== undefined && t.request !== 0 && t.backendRequest > t.request)
    ctx.addIssue({ code: "custom", path: ["backendRequest"], message: "backendRequest must not exceed request" });
});

export const RouteRetry = z.strictObject({
  codes: z.array(z.number().int().min(400).max(599)).default([500, 502, 503, 504]),
  attempts: z.number().int().min(0).max(10).default(2),
  backoff: Duration.optional(),
  /** isomesh extension: also retry non-idempotent methods. */
  unsafeMethods: z.boolean().default(false),
});

export const RouteRule = z
  .strictObject({
    name: z.string().optional(),
    matches: z.array(RouteMatch).max(64).prefault([{}]),
    filters: z.array(RouteFilter).max(16).default([]),
    backendRefs: z.array(BackendRef).max(64).default([]),
    timeouts: RouteTimeouts.optional(),
    retry: RouteRetry.optional(),
  })
  .superRefine((rule, ctx) => {
    const types = rule.filters.map((f) => f.type);
    const once = ["RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite"] as const;
    for (const t of once)
      if (types.filter((x) => x === t).length > 1) ctx.addIssue({ code: "custom", path: ["filters"], message: `filter ${t} may appear at most once per rule` });
    if (types.includes("RequestRedirect") && types.includes("URLRewrite"))
      ctx.addIssue({ code: "custom", path: ["filters"], message: "RequestRedirect and URLRewrite cannot be used together" });
    if (types.includes("RequestRedirect") && rule.backendRefs.length > 0)
      ctx.addIssue({ code: "custom", path: ["backendRefs"], message: "a rule with RequestRedirect must not have backendRefs" });
    rule.filters.forEach((f, i) => {
      const mod = f.type === "RequestRedirect" ? f.requestRedirect.path : f.type === "URLRewrite" ? f.urlRewrite.path : undefined;
      if (mod?.type !== "ReplacePrefixMatch") return;
      if (!rule.matches.every((m) => m.path.type === "PathPrefix"))
        ctx.addIssue({ code: "custom", path: ["filters", i], message: "ReplacePrefixMatch requires every match to be a PathPrefix match" });
    });
  });

export const ParentRef = z
  .strictObject({
    group: z.string().optional(),
    kind: z.enum(["Gateway", "Service"]).default("Gateway"),
    name: z.string().min(1),
  })
  .superRefine(checkGroup);

export const Hostname = z
  .string()
  .regex(/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/, "invalid hostname (lower-case DNS name, optional leading *.)");

export const HTTPRouteSpec = z.strictObject({
  parentRefs: z.array(ParentRef).min(1, "a route needs at least one parentRef").max(32),
  hostnames: z.array(Hostname).max(16).default([]),
  rules: z.array(RouteRule).max(256).prefault([{}]),
});

export const HTTPRoute = envelope("gateway.networking.k8s.io/v1", "HTTPRoute", HTTPRouteSpec);
export type HTTPRoute = z.infer<typeof HTTPRoute>;
export type RouteRule = z.infer<typeof RouteRule>;
export type RouteMatch = z.infer<typeof RouteMatch>;
export type RpcMatch = z.infer<typeof RpcMatch>;
export type RouteFilter = z.infer<typeof RouteFilter>;
export type BackendRef = z.infer<typeof BackendRef>;
