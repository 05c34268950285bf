import * as z from "zod/mini";
import { CorsFilter } from "./cors-filter.ts";
import { HeaderName } from "./route-match.ts";

// HTTPRoute filters, as users write them and as compiled snapshots carry them (zod/mini: see route-match.ts).

const HeaderValue = z.strictObject({ name: HeaderName, value: z.string().check(z.maxLength(4096)) });
export const HeaderModifier = z.strictObject({
  set: z._default(z.array(HeaderValue), []),
  add: z._default(z.array(HeaderValue), []),
  remove: z._default(z.array(HeaderName), []),
});

const PathModifier = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("ReplaceFullPath"), replaceFullPath: z.string().check(z.startsWith("/")) }),
  z.strictObject({ type: z.literal("ReplacePrefixMatch"), replacePrefixMatch: z.string().check(z.startsWith("/")) }),
]);

// Only what isomesh serves: a mesh Service (core group). Gateway API would accept any kind and
// answer 500; isomesh's services are fixed at deploy time, so refusing at apply is the honest answer.
const SERVED = "isomesh routes only to mesh services";
/** What a backendRef names (a RequestMirror's target too): a mesh service, or a version of the parent service. */
export const BackendObjectRef = z.strictObject({
  group: z.optional(
    z.literal("", {
      error: (i) => `${SERVED}: group must be "" (the core group of Service; got ${JSON.stringify(i.input)})`,
    }),
  ),
  kind: z.optional(
    z.literal("Service", { error: (i) => `${SERVED}: kind must be Service (got ${JSON.stringify(i.input)})` }),
  ),
  /** A service (routes on the gateway) or the parent service itself (GAMMA routes, with `version`). */
  name: z.string().check(z.minLength(1)),
  /** Which version of the service (isomesh extension for GAMMA routes). */
  version: z.optional(z.string()),
  port: z.optional(z.number().check(z.int())),
});

const Int = (min: number, max?: number) =>
  z.number().check(z.int(), z.gte(min), ...(max === undefined ? [] : [z.lte(max)]));

export const RouteFilter = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("RequestHeaderModifier"), requestHeaderModifier: HeaderModifier }),
  z.strictObject({ type: z.literal("ResponseHeaderModifier"), responseHeaderModifier: HeaderModifier }),
  z.strictObject({
    type: z.literal("RequestRedirect"),
    requestRedirect: z.strictObject({
      scheme: z.optional(z.enum(["http", "https"])),
      hostname: z.optional(z.string()),
      port: z.optional(Int(1, 65535)),
      path: z.optional(PathModifier),
      statusCode: z._default(
        z.union([z.literal(301), z.literal(302), z.literal(303), z.literal(307), z.literal(308)]),
        302,
      ),
    }),
  }),
  z.strictObject({
    type: z.literal("URLRewrite"),
    urlRewrite: z.strictObject({ hostname: z.optional(z.string()), path: z.optional(PathModifier) }),
  }),
  z.strictObject({
    type: z.literal("RequestMirror"),
    requestMirror: z.strictObject({
      backendRef: BackendObjectRef,
      percent: z.optional(Int(0, 100)),
      fraction: z.optional(z.strictObject({ numerator: Int(0), denominator: z._default(Int(1), 100) })),
    }),
  }),
  CorsFilter,
]);

export type RouteFilter = z.infer<typeof RouteFilter>;

/** A rule's weighted backend (Gateway API HTTPBackendRef): its filters apply only to requests sent to it, after the rule's. */
export const BackendRef = z.extend(BackendObjectRef, {
  weight: z._default(
    z.number().check(z.int("weight must be an integer"), z.gte(0, "weight must be >= 0"), z.lte(1_000_000)),
    1,
  ),
  filters: z.optional(z.array(RouteFilter).check(z.maxLength(16))),
});
export type BackendRef = z.infer<typeof BackendRef>;
