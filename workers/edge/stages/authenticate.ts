import { MeshError } from "../../../shared/errors.ts";
import { H } from "../../../shared/headers.ts";
import { derivedHeaders, outputHeadersOf } from "../../../shared/security/claim-headers.ts";
import { claimsHeaderOf, decodeIdentity, type Identity } from "../../../shared/security/identity-headers.ts";
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
    if (r.fromHeaders.length === 0 && r.fromParams.length === 0)
      out.push({ header: "authorization", prefix: "Bearer " });
    for (const h of r.fromHeaders) out.push({ header: h.name.toLowerCase(), prefix: h.prefix });
    for (const p of r.fromParams) out.push({ param: p, prefix: "" });
  }
  return out.filter(
    (l, i) => out.findIndex((m) => m.header === l.header && m.param === l.param && m.prefix === l.prefix) === i,
  );
}

function findToken(x: Exchange, locations: Location[]): { token: string; at: Location } | undefined {
  for (const at of locations) {
    const raw = at.header ? x.upstreamHeaders.get(at.header) : x.url.searchParams.get(at.param!);
    if (raw === null) continue;
    if (at.prefix && !raw.toLowerCase().startsWith(at.prefix.toLowerCase())) continue;
    return { token: raw.slice(at.prefix.length).trim(), at };
  }
  return undefined;
}

/**
 * RequestAuthentication (Istio semantics): a request without a token passes with no principal;
 * a request with an invalid token gets 401. Identity is this hop's verified token or, on a service
 * edge the gateway called, the identity the gateway verified (unreadable identity headers: 403
 * identity_invalid, never "anonymous"). Headers derived from claims (outputClaimToHeaders) are set
 * from that identity or removed, before any later stage reads a header.
 */
export const authenticate = (snapshot: Snapshot, state: AuthnState): Stage => {
  const rules = snapshot.authn?.rules ?? [];
  // The verified-token cache lives and dies with this snapshot: removing an issuer, a key or an
  // audience must stop cached tokens at once, not at their exp.
  const verifier = rules.length
    ? new JwtVerifier(rules, { fetcher: state.fetcher, cache: new TokenCache(), remotes: state.remotes })
    : undefined;
  const locations = locationsOf(rules);
  const outputHeaders = outputHeadersOf(rules);
  // A token no issuer rule could judge (malformed, unknown issuer) is refused by every policy here.
  const attached = [...new Set(rules.map((r) => r.policy))].join(", ");

  return async (x, next) => {
    let identity: Identity | undefined;
    let verifiedBy: JwtRuleConfig[] = [];
    if (x.trustedCaller) {
      const fromGateway = decodeIdentity(x.upstreamHeaders.get(H.principal), x.upstreamHeaders.get(H.claims));
      if (!fromGateway.ok) {
        x.flags.add("identity_invalid");
        if (x.record.on) x.record.note("authn", `identity from the gateway refused: ${fromGateway.reason}`);
        throw new MeshError(
          "identity_invalid",
          `the end-user identity the gateway sent cannot be read: ${fromGateway.reason}`,
          { edge: snapshot.edge },
        );
      }
      identity = fromGateway.identity;
      if (identity) verifiedBy = rules.filter((r) => r.issuer === identity!.claims.iss);
    }
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
      identity = { principal: result.principal, claims: result.claims };
      verifiedBy = [result.rule];
      if (x.record.on)
        x.record.note("authn", `authenticated ${result.principal}${result.cached ? " (cached)" : ""}`, {
          policy: result.rule.policy,
          principal: result.principal,
        });
      if (!result.rule.forwardOriginalToken) {
        if (found.at.header) x.upstreamHeaders.delete(found.at.header);
        else x.url.searchParams.delete(found.at.param!);
      }
      // The next hop (and the app) learn who this edge authenticated: the token's own payload, whatever its size.
      x.upstreamHeaders.set(H.principal, result.principal);
      x.upstreamHeaders.set(H.claims, claimsHeaderOf(found.token));
    } else if (x.record.on && verifier)
      x.record.note("authn", identity ? `principal ${identity.principal} from the gateway` : "no token: no principal");
    x.principal = identity?.principal;
    x.claims = identity?.claims;
    // Headers produced from claims are the mesh's word: set from the verified identity, or removed.
    for (const [name, value] of derivedHeaders(outputHeaders, verifiedBy, identity?.claims))
      if (value === undefined) x.upstreamHeaders.delete(name);
      else x.upstreamHeaders.set(name, value);
    return next();
  };
};
