import { z } from "zod";
import { HeaderMatch, Method, PathMatch, QueryParamMatch, RouteFilter } from "../resources/http-route.ts";
import { KeySource } from "../resources/traffic-policy.ts";
import { AuthorizationRule } from "../resources/authorization-policy.ts";
import { CompiledMeshConfig, DEFAULT_MESH_CONFIG } from "../manifest/mesh-config.ts";

export const SNAPSHOT_SCHEMA = 1;

export const CompiledBackend = z.object({
  service: z.string(),
  /** Set on service edges: the version of the service this backend is. */
  version: z.string().optional(),
  weight: z.number().int().min(0),
});

/** One (rule, match) pair of one route: the unit of Gateway API precedence. */
export const CompiledRoute = z.object({
  route: z.string(),
  rule: z.number().int(),
  ruleName: z.string().optional(),
  match: z.number().int(),
  path: PathMatch,
  method: Method.optional(),
  headers: z.array(HeaderMatch),
  queryParams: z.array(QueryParamMatch),
  filters: z.array(RouteFilter),
  backends: z.array(CompiledBackend),
  /** Who decided `backends`' weights when the route did not (a Rollout of the service). */
  weightsFrom: z.string().optional(),
  /** requestMs: the route's timeouts.request, else the mesh default (requestDefault); 0 or absent: none. */
  timeouts: z.object({ requestMs: z.number().optional(), backendRequestMs: z.number().optional(), requestDefault: z.boolean().optional() }),
  retry: z
    .object({ codes: z.array(z.number()), attempts: z.number(), backoffMs: z.number(), unsafeMethods: z.boolean() })
    .optional(),
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
  outlierDetection: z
    .object({ consecutiveErrors: z.number(), intervalMs: z.number(), baseEjectionMs: z.number(), maxEjectionPercent: z.number() })
    .optional(),
  concurrencyLimit: z.number().optional(),
  rateLimits: z.array(z.object({ requests: z.number(), perMs: z.number(), key: KeySource.optional(), mode: z.enum(["local", "global"]) })),
  faultInjection: z
    .object({
      headers: z.array(HeaderMatch),
      delay: z.object({ ms: z.number(), percentage: z.number() }).optional(),
      abort: z.object({ status: z.number(), percentage: z.number() }).optional(),
    })
    .optional(),
  stickySession: z.object({ hashOn: KeySource }).optional(),
});

/** JWT rules of the RequestAuthentications attached to this edge (JWKS already parsed). */
export const CompiledAuthn = z.object({
  rules: z.array(
    z.object({
      policy: z.string(),
      issuer: z.string(),
      audiences: z.array(z.string()),
      jwks: z.array(z.record(z.string(), z.unknown())).optional(),
      jwksUri: z.string().optional(),
      fromHeaders: z.array(z.object({ name: z.string(), prefix: z.string() })),
      fromParams: z.array(z.string()),
      forwardOriginalToken: z.boolean(),
      outputClaimToHeaders: z.array(z.object({ header: z.string(), claim: z.string() })),
      clockSkewSeconds: z.number(),
      requireExpiration: z.boolean().optional(),
    }),
  ),
});

export const CompiledAuthz = z.object({
  policies: z.array(z.object({ name: z.string(), action: z.enum(["ALLOW", "DENY", "AUDIT"]), rules: z.array(AuthorizationRule) })),
});

/** An ExternalService as the egress edge needs it: which ports and schemes, which client certificate. */
export const CompiledExternal = z.object({
  name: z.string(),
  hosts: z.array(z.string()),
  ports: z.array(z.object({ number: z.number().int(), protocol: z.enum(["HTTP", "HTTPS"]) })),
  /** Binding of a wrangler `mtls_certificates` entry to send through instead of the global fetch. */
  clientCertificate: z.string().optional(),
});

export const Snapshot = z.object({
  schema: z.literal(SNAPSHOT_SCHEMA),
  mesh: z.string(),
  edge: z.string(),
  role: z.enum(["gateway", "service", "egress"]),
  /** The service a service edge fronts; absent on the gateway. */
  service: z.string().optional(),
  /** Config version this snapshot was compiled from. */
  version: z.number().int().min(0),
  /** What this edge may call: services (gateway), versions (service edge) or ExternalServices (egress). */
  backends: z.array(z.string()),
  vhosts: z.array(VirtualHost),
  /** Service edges with no route: where traffic goes (equal split, or a Rollout's weights). */
  defaultBackends: z.array(CompiledBackend),
  /** Who decided `defaultBackends` (e.g. "Rollout/reviews-v3 (v3 at 10%)"), for explanations. */
  defaultSource: z.string().optional(),
  policy: CompiledPolicy.optional(),
  authn: CompiledAuthn.optional(),
  authz: CompiledAuthz.optional(),
  /** The egress edge's allow-list: one entry per ExternalService. */
  externals: z.array(CompiledExternal).optional(),
  /** The manifest's meshConfig (path normalization, default timeout); snapshots from before it had the defaults. */
  meshConfig: CompiledMeshConfig.default(DEFAULT_MESH_CONFIG),
});

export type Snapshot = z.infer<typeof Snapshot>;
export type CompiledRoute = z.infer<typeof CompiledRoute>;
export type CompiledBackend = z.infer<typeof CompiledBackend>;
export type CompiledPolicy = z.infer<typeof CompiledPolicy>;
export type VirtualHost = z.infer<typeof VirtualHost>;
export type CompiledAuthn = z.infer<typeof CompiledAuthn>;
export type CompiledAuthz = z.infer<typeof CompiledAuthz>;
export type CompiledExternal = z.infer<typeof CompiledExternal>;
