import { MeshError } from "../../../shared/errors.ts";
import { H } from "../../../shared/headers.ts";
import { encodeClaims } from "../../../shared/security/identity-headers.ts";
import { type JwtRuleConfig, JwtVerifier, TokenCache } from "../../../shared/security/jwt.ts";
import type { RemoteJwks } from "../../../shared/security/jwks.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import type { Exchange, Stage } from "../exchange.ts";

export type AuthnState = { remotes: Map<string, RemoteJwks>; fetcher: (url: string) => Promise<Response> };

type Location = { header?: string; prefix: string; param?: string };

/** Where tokens are looked for: the rules' fromHeaders / fromParams, or `Authorization: Bearer`. */
function locationsOf(rules: JwtRuleConfig[]): Location[] {
  const out: Location[] = [];
  for (const r of rules) {
    if (r.fromHeaders.length === 0 && r.fromParams.length === 0) out.push({ header: "authorization", prefix: "Bearer " });
    for (const h of r.fromHeaders) out.push({ header: h.name.toLowerCase(), prefix: h.prefix });
    for (const p of r.fromParams) out.push({ param: p, prefix: "" });
  }
  return out.filter((l, i) => out.findIndex((m) => m.header === l.header && m.param === l.param && m.prefix === l.prefix) === i);
}

function findToken(x: Exchange, locations: Location[]): { token: string; at: Location } | undefined {
  for (const at of locations) {
    const raw = at.header ? x.inbound.headers.get(at.header) : x.url.searchParams.get(at.param!);
    if (raw === null) continue;
    if (at.prefix && !raw.toLowerCase().startsWith(at.prefix.toLowerCase())) continue;
    return { token: raw.slice(at.prefix.length).trim(), at };
  }
  return undefined;
}

/**
 * RequestAuthentication (Istio semantics): a request without a token passes with no principal;
 * a request with an invalid token gets 401. A valid token sets the principal (`iss/sub`) and
 * claims, which the gateway hands to service edges in headers only they trust.
 */
export const authenticate = (snapshot: Snapshot, state: AuthnState): Stage => {
  const rules = snapshot.authn?.rules ?? [];
  // The verified-token cache lives and dies with this snapshot: removing an issuer, a key or an
  // audience must stop cached tokens at once, not at their exp.
  const verifier = rules.length ? new JwtVerifier(rules, { fetcher: state.fetcher, cache: new TokenCache(), remotes: state.remotes }) : undefined;
  const locations = locationsOf(rules);
  const outputHeaders = [...new Set(rules.flatMap((r) => r.outputClaimToHeaders.map((o) => o.header.toLowerCase())))];
  const propagate = snapshot.role === "gateway";
  // A token no issuer rule could judge (malformed, unknown issuer) is refused by every policy here.
  const attached = [...new Set(rules.map((r) => r.policy))].join(", ");

  return async (x, next) => {
    // Headers produced from claims are the mesh's word: a client's copies never pass.
    for (const h of outputHeaders) x.upstreamHeaders.delete(h);
    const found = verifier && findToken(x, locations);
    if (found) {
      const result = await verifier!.verify(found.token);
      if (!result.ok) {
        x.flags.add("authn_failed");
        const policy = result.policy ?? attached;
        if (x.record.on) x.record.note("authn", `token rejected: ${result.reason}`, { policy });
        throw new MeshError("authn_failed", `invalid token: ${result.reason}`, { policy }, 401, {
          "www-authenticate": `Bearer realm="isomesh", error="invalid_token"`,
        });
      }
      x.principal = result.principal;
      x.claims = result.claims;
      if (x.record.on) x.record.note("authn", `authenticated ${result.principal}${result.cached ? " (cached)" : ""}`, { policy: result.rule.policy, principal: result.principal });
      for (const o of result.rule.outputClaimToHeaders) {
        const v = result.claims[o.claim];
        if (v !== undefined) x.upstreamHeaders.set(o.header, typeof v === "string" ? v : JSON.stringify(v));
      }
      if (!result.rule.forwardOriginalToken) {
        if (found.at.header) x.upstreamHeaders.delete(found.at.header);
        else x.url.searchParams.delete(found.at.param!);
      }
    } else if (x.record.on && verifier) x.record.note("authn", x.principal ? `principal ${x.principal} from the gateway` : "no token: no principal");

    if (propagate && x.principal) {
      x.upstreamHeaders.set(H.principal, x.principal);
      const claims = x.claims && encodeClaims(x.claims);
      if (claims) x.upstreamHeaders.set(H.claims, claims);
    }
    return next();
  };
};
