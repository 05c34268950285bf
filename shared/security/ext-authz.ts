import type { Decision } from "../explain/record.ts";
import type { AuthorizationPolicy } from "../resources/authorization-policy.ts";
import { type AuthzRequest, ruleMatches, valueMatches, withNormalizedHosts } from "./authorize.ts";
import type { CompiledExtAuthz, CompiledExtAuthzProvider } from "./ext-authz-compiled.ts";

export { CompiledExtAuthz, CompiledExtAuthzProvider } from "./ext-authz-compiled.ts";

export const EXT_AUTHZ_FLAGS = {
  ext_authz_denied: "a CUSTOM policy's provider denied it (the client got its answer)",
  ext_authz_error: "a CUSTOM policy's provider gave no answer (failure, timeout): failOpen decided",
} as const;

/**
 * The CUSTOM policies attached to an edge, with the provider they name (Istio allows one provider
 * per workload: the oldest policy's; the admin API refuses a second). A provider's own service is
 * never checked: its requests include the checks themselves, which would each need a check.
 */
export function compileExtAuthz(
  policies: AuthorizationPolicy[],
  providers: readonly CompiledExtAuthzProvider[] | undefined,
  service: string | undefined,
): CompiledExtAuthz | undefined {
  const custom = policies.filter((p) => p.spec.action === "CUSTOM");
  if (custom.length === 0 || !providers?.length) return undefined;
  if (service !== undefined && providers.some((p) => p.service === service)) return undefined;
  const provider = providers.find((p) => p.name === custom[0].spec.provider?.name);
  if (!provider) return undefined;
  return {
    provider,
    policies: custom
      .filter((p) => p.spec.provider?.name === provider.name)
      .map((p) => ({ name: p.metadata.name, rules: p.spec.rules.map(withNormalizedHosts) })),
  };
}

/** The CUSTOM policy and rule that call for a check of this request, if any (Istio: any matching rule of any CUSTOM policy). */
export function checkCalledFor(
  extAuthz: CompiledExtAuthz,
  r: AuthzRequest,
): { policy: string; rule: number } | undefined {
  for (const p of extAuthz.policies) {
    const rule = p.rules.findIndex((rule) => ruleMatches(rule, r));
    if (rule >= 0) return { policy: p.name, rule };
  }
  return undefined;
}

/** Whether a header name matches one of a provider's patterns (exact, `prefix*`, `*suffix`; patterns are lower-case). */
export const headerListed = (patterns: readonly string[], name: string) => patterns.some((p) => valueMatches(p, name));

/** Whether a header of the provider's denial goes to the client (x-request-id is the client's own, set by the mesh). */
export const deniedHeaderPasses = (p: CompiledExtAuthzProvider, name: string) =>
  name !== "host" && name !== "x-request-id" && (!p.downstreamOnDeny || headerListed(p.downstreamOnDeny, name));

/** The decision record of the CUSTOM stage, the same at the edge and in a synthetic explanation. */
export const describeExtAuthz = (
  e: CompiledExtAuthz,
  matched: { policy: string; rule: number } | undefined,
  outcome = "asked",
): Decision => ({
  stage: "extAuthz",
  decision: matched
    ? `CUSTOM policy ${matched.policy} rule ${matched.rule}: provider ${e.provider.name} ${outcome}`
    : `no CUSTOM rule matched: provider ${e.provider.name} not asked`,
  provider: e.provider.name,
  ...matched,
});
