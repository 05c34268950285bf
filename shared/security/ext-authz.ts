import type { Decision } from "../explain/record.ts";
import type { AuthorizationPolicy } from "../resources/authorization-policy.ts";
import { type AuthzRequest, ruleMatches, valueMatches, withNormalizedHosts } from "./authorize.ts";
import type { CompiledExtAuthz, CompiledExtAuthzProvider } from "./ext-authz-compiled.ts";

export { CompiledExtAuthz, CompiledExtAuthzProvider } from "./ext-authz-compiled.ts";

export const EXT_AUTHZ_FLAGS = {
  ext_authz_denied: "a CUSTOM AuthorizationPolicy's provider denied it (its answer went to the client)",
  ext_authz_error: "a CUSTOM AuthorizationPolicy's provider gave no answer (failure or timeout): failOpen decided",
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

/** Istio: when headersToDownstreamOnDeny is set, these go to the client with the listed ones. */
const ALWAYS_ON_DENY = ["content-length", "www-authenticate", "location"];

/** Whether a header of the provider's denial goes to the client. */
export const deniedHeaderPasses = (provider: CompiledExtAuthzProvider, name: string) =>
  !name.startsWith("x-isomesh-") &&
  name !== "host" &&
  (provider.downstreamOnDeny === undefined ||
    ALWAYS_ON_DENY.includes(name) ||
    headerListed(provider.downstreamOnDeny, name));

/** The headers of the request the check carries: the ones the provider asks for (host, method and path travel in the URL). */
export function checkHeaders(provider: CompiledExtAuthzProvider, headers: Headers): Headers {
  const out = new Headers();
  if (provider.requestHeaders.length === 0) return out;
  for (const [name, value] of headers)
    if (!name.startsWith("x-isomesh-") && headerListed(provider.requestHeaders, name)) out.set(name, value);
  return out;
}

/** The decision record of the CUSTOM stage, the same at the edge and in a synthetic explanation. */
export function describeExtAuthz(
  extAuthz: CompiledExtAuthz,
  matched: { policy: string; rule: number } | undefined,
  outcome?: string,
): Decision {
  const p = extAuthz.provider;
  return matched
    ? {
        stage: "extAuthz",
        decision: `CUSTOM policy ${matched.policy} rule ${matched.rule} matched: provider ${p.name} (service ${p.service}) ${outcome ?? "is asked"}`,
        policy: matched.policy,
        rule: matched.rule,
        provider: p.name,
      }
    : { stage: "extAuthz", decision: `no CUSTOM rule matched: provider ${p.name} not asked`, provider: p.name };
}
