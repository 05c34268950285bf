import { z } from "zod";
import { Duration } from "../duration.ts";
import { checkGroup, envelope } from "./metadata.ts";
import { HeaderMatch, isCatchAllPath, Method, PathMatch, QueryParamMatch, RpcMatch } from "./route-match.ts";
import { BackendRef, RouteFilter } from "./route-filter.ts";
import { regexIssues } from "../regex/validate.ts";
import { corsIssues } from "./cors-filter.ts";
import { SessionPersistence } from "./session-persistence.ts";

export { BackendRef, HeaderMatch, isCatchAllPath, Method, PathMatch, QueryParamMatch, RouteFilter, RpcMatch };

// Gateway API HTTPRoute (gateway.networking.k8s.io/v1), GAMMA style for east-west.

export const RouteMatch = z
  .strictObject({
    path: z._default(PathMatch, { type: "PathPrefix", value: "/" }),
    headers: z.array(HeaderMatch).max(16).default([]),
    queryParams: z.array(QueryParamMatch).max(16).default([]),
    method: z.optional(Method),
    /** isomesh extension: a Workers RPC call (GRPCRoute's method match); see RpcMatch. */
    rpc: z.optional(RpcMatch),
  })
  .superRefine((m, ctx) => {
    for (const issue of regexIssues(m)) ctx.addIssue({ code: "custom", ...issue });
    // An RPC call has no path, headers, query or HTTP method: a match asking for both could never match.
    if (!m.rpc) return;
    const none = (key: string) =>
      ctx.addIssue({
        code: "custom",
        path: [key],
        message: `a match with rpc cannot also match on ${key}: a Workers RPC call has none`,
      });
    if (!isCatchAllPath(m.path)) none("path");
    if (m.method !== undefined) none("method");
    if (m.headers.length) none("headers");
    if (m.queryParams.length) none("queryParams");
  });

/** Gateway API request and per-try (backendRequest) timeouts; the per-try one may not exceed the whole. */
export const RouteTimeouts = z
  .strictObject({ request: Duration.optional(), backendRequest: Duration.optional() })
  .superRefine((t, ctx) => {
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
    sessionPersistence: SessionPersistence.optional(),
  })
  .superRefine((rule, ctx) => {
    checkFilters(rule.filters, rule.matches, ["filters"], "rule", ctx);
    if (rule.filters.some((f) => f.type === "RequestRedirect") && rule.backendRefs.length > 0)
      ctx.addIssue({
        code: "custom",
        path: ["backendRefs"],
        message: "a rule with RequestRedirect must not have backendRefs",
      });
    rule.backendRefs.forEach((b, i) =>
      checkFilters(b.filters ?? [], rule.matches, ["backendRefs", i, "filters"], "backendRef", ctx),
    );
  });

/** Gateway API's rules for one list of filters (a rule's or a backendRef's). */
function checkFilters(
  filters: RouteFilter[],
  matches: RouteMatch[],
  path: (string | number)[],
  where: string,
  ctx: z.RefinementCtx,
) {
  const types = filters.map((f) => f.type);
  const once = ["RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite", "CORS"] as const;
  for (const t of once)
    if (types.filter((x) => x === t).length > 1)
      ctx.addIssue({ code: "custom", path, message: `filter ${t} may appear at most once per ${where}` });
  if (types.includes("RequestRedirect") && types.includes("URLRewrite"))
    ctx.addIssue({ code: "custom", path, message: "RequestRedirect and URLRewrite cannot be used together" });
  filters.forEach((f, i) => {
    // A preflight is answered before any backend is picked: CORS belongs to the rule.
    if (f.type === "CORS" && where === "backendRef")
      ctx.addIssue({
        code: "custom",
        path: [...path, i],
        message: "a CORS filter applies to a rule, not a backendRef",
      });
    if (f.type === "CORS")
      for (const issue of corsIssues(f.cors))
        ctx.addIssue({ code: "custom", ...issue, path: [...path, i, ...issue.path] });
    const mod =
      f.type === "RequestRedirect" ? f.requestRedirect.path : f.type === "URLRewrite" ? f.urlRewrite.path : undefined;
    if (mod?.type !== "ReplacePrefixMatch") return;
    if (!matches.every((m) => m.path.type === "PathPrefix"))
      ctx.addIssue({
        code: "custom",
        path: [...path, i],
        message: "ReplacePrefixMatch requires every match to be a PathPrefix match",
      });
  });
}

export const ParentRef = z
  .strictObject({
    group: z.string().optional(),
    kind: z.enum(["Gateway", "Service"]).default("Gateway"),
    name: z.string().min(1),
  })
  .superRefine(checkGroup);

export const Hostname = z
  .string()
  .regex(
    /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/,
    "invalid hostname (lower-case DNS name, optional leading *.)",
  );

export const HTTPRouteSpec = z.strictObject({
  parentRefs: z.array(ParentRef).min(1, "a route needs at least one parentRef").max(32),
  hostnames: z.array(Hostname).max(16).default([]),
  rules: z.array(RouteRule).max(256).prefault([{}]),
});

export const HTTPRoute = envelope("gateway.networking.k8s.io/v1", "HTTPRoute", HTTPRouteSpec);
export type HTTPRoute = z.infer<typeof HTTPRoute>;
export type RouteRule = z.infer<typeof RouteRule>;
export type RouteMatch = z.infer<typeof RouteMatch>;
