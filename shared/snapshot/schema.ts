import * as z from "zod/mini";
import { CompiledMeshConfig, DEFAULT_MESH_CONFIG } from "../manifest/compiled-mesh-config.ts";
import { CompiledConcurrencyLimit } from "../resilience/concurrency.ts";
import { CompiledFault } from "../resilience/fault.ts";
import { CompiledOutlierDetection } from "../resilience/outlier-detection.ts";
import { CompiledRetryBudget, DestinationBudget } from "../resilience/retry-budget.ts";
import { CompiledRateLimit } from "../ratelimit/rate-limit.ts";
import { regexSources } from "../regex/fields.ts";
import { RegexPrograms } from "../regex/program.ts";
import { CompiledExternal } from "../routing/egress-allow.ts";
import { VirtualHost } from "../routing/routes.ts";
import { CompiledBackend, CompiledStickySession } from "../routing/split.ts";
import { CompiledAuthn } from "../security/authn.ts";
import { CompiledAuthz } from "../security/authorize.ts";
import { CompiledExtAuthz } from "../security/ext-authz-compiled.ts";

// The snapshot an edge runs: each part is the compiled form its concern declares beside its
// decision (shared/<domain>/<concern>.ts); this file only puts them together. Every edge validates
// each snapshot it reads with it, so it and every part are zod/mini (tree-shakable, a few tens of
// KiB) instead of zod's full build (~800 KiB), which every cold edge isolate would otherwise parse;
// the resource parts they embed (shared/resources/{route-match,route-filter,key-source,...}.ts) are
// the very schemas the admin API validates users' documents with.

/** Bumped when the compiled form changes: the ConfigStore recompiles every edge on start, and an older edge keeps its last good snapshot. */
export const SNAPSHOT_SCHEMA = 5;

/** The TrafficPolicy that targets the edge, one part per concern. */
export const CompiledPolicy = z.object({
  name: z.string(),
  retryBudget: CompiledRetryBudget,
  outlierDetection: z.optional(CompiledOutlierDetection),
  concurrencyLimit: z.optional(CompiledConcurrencyLimit),
  rateLimits: z.array(CompiledRateLimit),
  faultInjection: z.optional(CompiledFault),
  stickySession: z.optional(CompiledStickySession),
  /** Workers RPC methods safe to retry (Istio's value syntax); absent: none. */
  idempotentMethods: z.optional(z.array(z.string())),
});
export type CompiledPolicy = z.infer<typeof CompiledPolicy>;

const SnapshotFields = z.object({
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
  /** The gateway: the retry budgets of the services its routes send to (each service's own TrafficPolicy). */
  retryBudgets: z.optional(z.record(z.string(), DestinationBudget)),
  authn: z.optional(CompiledAuthn),
  authz: z.optional(CompiledAuthz),
  /** CUSTOM AuthorizationPolicies and their provider (external authorization), asked before `authz`. */
  extAuthz: z.optional(CompiledExtAuthz),
  /** The egress edge's allow-list: one entry per ExternalService. */
  externals: z.optional(z.array(CompiledExternal)),
  /**
   * Workers RPC: every method name some version of the service exports (`getRating`, `Admin.reset`),
   * the names its metrics may carry; absent when a version's exports are not known.
   */
  rpcMethods: z.optional(z.array(z.string())),
  /**
   * Every regular expression the routes and the fault injection match with, compiled by the
   * control plane (shared/regex/), by source: the edge runs these programs in linear time.
   */
  regexes: z.optional(RegexPrograms),
  /** The manifest's meshConfig (path normalization, default timeout). */
  meshConfig: z._default(CompiledMeshConfig, DEFAULT_MESH_CONFIG),
});

/** A snapshot whose regular expressions all have their program (one without could not run). */
export const Snapshot = SnapshotFields.check(
  z.superRefine((s, ctx) => {
    // A regular expression without its program could not run: the snapshot is malformed.
    for (const source of regexSources(s.vhosts, s.policy?.faultInjection?.match))
      if (!s.regexes || !Object.hasOwn(s.regexes, source))
        ctx.addIssue({
          code: "custom",
          path: ["regexes"],
          message: `no compiled program for the regular expression ${JSON.stringify(source)}`,
        });
  }),
);
export type Snapshot = z.infer<typeof Snapshot>;
export type Role = Snapshot["role"];
