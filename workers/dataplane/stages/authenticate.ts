import { MeshError } from "../../../shared/errors.ts";
import { H } from "../../../shared/headers.ts";
import { type CompiledJwtRule, findToken, rulesForIssuer, tokenLocations } from "../../../shared/security/authn.ts";
import { applyDerivedHeaders, outputHeadersOf } from "../../../shared/security/claim-headers.ts";
import { claimsHeaderOf, decodeIdentity, type Identity } from "../../../shared/security/identity-headers.ts";
import { JwtVerifier, TokenCache } from "../../../shared/security/jwt.ts";
import type { RemoteJwks } from "../../../shared/security/jwks.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import { type Authenticated, carry, type Exchange, type Stage } from "../exchange.ts";

export type AuthnState = { remotes: Map<string, RemoteJwks>; fetcher: (url: string) => Promise<Response> };

/**
 * RequestAuthentication (Istio semantics; shared/security/authn.ts): a request without a token
 * passes with no principal; a request with an invalid token gets 401. Identity is this hop's
 * verified token or, on a service edge the gateway called, the identity the gateway verified
 * (unreadable identity headers: 403 identity_invalid, never "anonymous"). Headers derived from
 * claims (outputClaimToHeaders) are set from that identity or removed, before any later stage reads
 * a header. Reads `upstreamHeaders` and `facts.query`; writes `upstreamHeaders`, `url` (a token
 * removed) and hands on the `identity`.
 */
export const authenticate = (snapshot: Snapshot, state: AuthnState): Stage<Exchange, Authenticated> => {
  const rules = snapshot.authn?.rules ?? [];
  // The verified-token cache lives and dies with this snapshot: removing an issuer, a key or an
  // audience must stop cached tokens at once, not at their exp.
  const verifier = rules.length
    ? new JwtVerifier(rules, { fetcher: state.fetcher, cache: new TokenCache(), remotes: state.remotes })
    : undefined;
  const locations = tokenLocations(rules);
  const outputHeaders = outputHeadersOf(rules);
  // A token no issuer rule could judge (malformed, unknown issuer) is refused by every policy here.
  const attached = [...new Set(rules.map((r) => r.policy))].join(", ");

  return async (x, next) => {
    let identity: Identity | undefined;
    let verifiedBy: CompiledJwtRule[] = [];
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
      if (identity) verifiedBy = rulesForIssuer(rules, identity.claims.iss);
    }
    const found = verifier && findToken(x.upstreamHeaders, x.facts.query, locations);
    if (verifier && found) {
      const result = await verifier.verify(found.token);
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
        // The backend loses the token; decisions keep reading the client's query (facts.query is its own copy).
        if (found.at.header) x.upstreamHeaders.delete(found.at.header);
        else if (found.at.param) x.url.searchParams.delete(found.at.param);
      }
      // The next hop (and the app) learn who this edge authenticated: the token's own payload, whatever its size.
      x.upstreamHeaders.set(H.principal, result.principal);
      x.upstreamHeaders.set(H.claims, claimsHeaderOf(found.token));
    } else if (x.record.on && verifier)
      x.record.note("authn", identity ? `principal ${identity.principal} from the gateway` : "no token: no principal");
    // Headers produced from claims are the mesh's word: set from the verified identity, or removed.
    applyDerivedHeaders(x.upstreamHeaders, outputHeaders, verifiedBy, identity?.claims);
    return next(carry(x, "identity", identity));
  };
};
