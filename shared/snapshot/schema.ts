import * as z from "zod/mini";
import { HeaderMatch, Method, PathMatch, QueryParamMatch } from "../resources/route-match.ts";
import { RouteFilter } from "../resources/route-filter.ts";
import { KeySource } from "../resources/key-source.ts";
import { AuthorizationRule } from "../resources/authorization-rule.ts";
import { CompiledMeshConfig, DEFAULT_MESH_CONFIG } from "../manifest/compiled-mesh-config.ts";

// What every edge validates on each snapshot it reads. zod/mini (tree-shakable, a few tens of KiB)
// instead of zod's full build (~800 KiB), which every cold edge isolate would otherwise parse; the
// resource schemas it reuses are the very ones the admin API validates users' documents with.

export const SNAPSHOT_SCHEMA = 1;

const Int = z.number().check(z.int());

export const CompiledBackend = z.object({
  service: z.string(),
  /** Set on service edges: the version of the service this backend is. */
  version: z.optional(z.string()),
  weight: z.number().check(z.int(), z.gte(0)),
});

/** One (rule, match) pair of one route: the unit of Gateway API precedence. */
export const CompiledRoute = z.object({
  route: z.string(),
  rule: Int,
  ruleName: z.optional(z.string()),
  match: Int,
  path: PathMatch,
  method: z.optional(Method),
  headers: z.array(HeaderMatch),
  queryParams: z.array(QueryParamMatch),
  filters: z.array(RouteFilter),
  backends: z.array(CompiledBackend),
  /** Who decided `backends`' weights when the route did not (a Rollout of the service). */
  weightsFrom: z.optional(z.string()),
  /** requestMs: the route's timeouts.request, else the mesh default (requestDefault); 0 or absent: none. */
  timeouts: z.object({
    requestMs: z.optional(z.number()),
    backendRequestMs: z.optional(z.number()),
    requestDefault: z.optional(z.boolean()),
  }),
  retry: z.optional(
    z.object({ codes: z.array(z.number()), attempts: z.number(), backoffMs: z.number(), unsafeMethods: z.boolean() }),
  ),
});

export const VirtualHost = z.object({
  /** Exact names and `*.suffix` wildcards; empty means every host. */
  hostnames: z.array(z.string()),
  /** Sorted by Gateway API precedence: the first that matches wins. */
  routes: z.array(CompiledRoute),
});

export const CompiledPolicy = z.object({
  name: z.string(),
  retryBudget: z.object({ percent: z.number(), minRetriesPerSecond: z.number() }),
  outlierDetection: z.optional(
    z.object({
      consecutiveErrors: z.number(),
      intervalMs: z.number(),
      baseEjectionMs: z.number(),
      maxEjectionPercent: z.number(),
    }),
  ),
  concurrencyLimit: z.optional(z.number()),
  rateLimits: z.array(
    z.object({
      requests: z.number(),
      perMs: z.number(),
      key: z.optional(KeySource),
      mode: z.enum(["local", "global"]),
    }),
  ),
  faultInjection: z.optional(
    z.object({
      headers: z.array(HeaderMatch),
      delay: z.optional(z.object({ ms: z.number(), percentage: z.number() })),
      abort: z.optional(z.object({ status: z.number(), percentage: z.number() })),
    }),
  ),
  stickySession: z.optional(z.object({ hashOn: KeySource })),
});

/** JWT rules of the RequestAuthentications attached to this edge (JWKS already parsed). */
export const CompiledAuthn = z.object({
  rules: z.array(
    z.object({
      policy: z.string(),
      issuer: z.string(),
      audiences: z.array(z.string()),
      jwks: z.optional(z.array(z.record(z.string(), z.unknown()))),
      jwksUri: z.optional(z.string()),
      fromHeaders: z.array(z.object({ name: z.string(), prefix: z.string() })),
      fromParams: z.array(z.string()),
      forwardOriginalToken: z.boolean(),
      outputClaimToHeaders: z.array(z.object({ header: z.string(), claim: z.string() })),
      clockSkewSeconds: z.number(),
      requireExpiration: z.optional(z.boolean()),
    }),
  ),
});

export const CompiledAuthz = z.object({
  policies: z.array(
    z.object({ name: z.string(), action: z.enum(["ALLOW", "DENY", "AUDIT"]), rules: z.array(AuthorizationRule) }),
  ),
});

/** An ExternalService as the egress edge needs it: which ports and schemes, which client certificate. */
export const CompiledExternal = z.object({
  name: z.string(),
  hosts: z.array(z.string()),
  ports: z.array(z.object({ number: Int, protocol: z.enum(["HTTP", "HTTPS"]) })),
  /** Binding of a wrangler `mtls_certificates` entry to send through instead of the global fetch. */
  clientCertificate: z.optional(z.string()),
});

export const Snapshot = z.object({
  schema: z.literal(SNAPSHOT_SCHEMA),
  mesh: z.string(),
  edge: z.string(),
  role: z.enum(["gateway", "service", "egress"]),
  /** The service a service edge fronts; absent on the gateway. */
  service: z.optional(z.string()),
  /** Config version this snapshot was compiled from. */
  version: z.number().check(z.int(), z.gte(0)),
  /** What this edge may call: services (gateway), versions (service edge) or ExternalServices (egress). */
  backends: z.array(z.string()),
  vhosts: z.array(VirtualHost),
  /** Service edges with no route: where traffic goes (equal split, or a Rollout's weights). */
  defaultBackends: z.array(CompiledBackend),
  /** Who decided `defaultBackends` (e.g. "Rollout/reviews-v3 (v3 at 10%)"), for explanations. */
  defaultSource: z.optional(z.string()),
  policy: z.optional(CompiledPolicy),
  authn: z.optional(CompiledAuthn),
  authz: z.optional(CompiledAuthz),
  /** The egress edge's allow-list: one entry per ExternalService. */
  externals: z.optional(z.array(CompiledExternal)),
  /** The manifest's meshConfig (path normalization, default timeout); snapshots from before it had the defaults. */
  meshConfig: z._default(CompiledMeshConfig, DEFAULT_MESH_CONFIG),
});

export type Snapshot = z.infer<typeof Snapshot>;
export type CompiledRoute = z.infer<typeof CompiledRoute>;
export type CompiledBackend = z.infer<typeof CompiledBackend>;
export type CompiledPolicy = z.infer<typeof CompiledPolicy>;
export type VirtualHost = z.infer<typeof VirtualHost>;
export type CompiledAuthn = z.infer<typeof CompiledAuthn>;
export type CompiledAuthz = z.infer<typeof CompiledAuthz>;
export type CompiledExternal = z.infer<typeof CompiledExternal>;
