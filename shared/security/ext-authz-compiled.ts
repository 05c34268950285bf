import * as z from "zod/mini";
import { AuthorizationRule } from "../resources/authorization-rule.ts";

// External authorization as edges run it (zod/mini, like the snapshot that embeds it).

/** The largest body a check may carry: the edge holds it in memory while the provider answers. */
export const MAX_CHECK_BODY_BYTES = 1024 * 1024;

/** One extension provider (meshConfig.extensionProviders[].envoyExtAuthzHttp), header patterns lower-cased. */
export const CompiledExtAuthzProvider = z.object({
  name: z.string(),
  service: z.string(),
  pathPrefix: z.string(),
  timeoutMs: z.number().check(z.int(), z.gte(1)),
  failOpen: z.boolean(),
  statusOnError: z.number().check(z.int(), z.gte(200), z.lte(599)),
  requestHeaders: z.array(z.string()),
  upstreamOnAllow: z.array(z.string()),
  /** Absent: every header of the provider's denial goes to the client (Istio). */
  downstreamOnDeny: z.optional(z.array(z.string())),
  downstreamOnAllow: z.array(z.string()),
  body: z.optional(
    z.object({ maxBytes: z.number().check(z.int(), z.gte(1), z.lte(MAX_CHECK_BODY_BYTES)), partial: z.boolean() }),
  ),
});
export type CompiledExtAuthzProvider = z.infer<typeof CompiledExtAuthzProvider>;

/** The CUSTOM AuthorizationPolicies attached to an edge (oldest first) and the one provider they name (Istio allows one per workload). */
export const CompiledExtAuthz = z.object({
  provider: CompiledExtAuthzProvider,
  policies: z.array(z.object({ name: z.string(), rules: z.array(AuthorizationRule) })),
});
export type CompiledExtAuthz = z.infer<typeof CompiledExtAuthz>;
