import { MeshError } from "../../../shared/errors.ts";
import { H } from "../../../shared/headers.ts";
import { type CompiledJwtRule, findToken, rulesForIssuer, tokenLocations } from "../../../shared/security/authn.ts";
import { applyDerivedHeaders, outputHeadersOf } from "../../../shared/security/claim-headers.ts";
import { claimsHeaderOf, decodeIdentity, type Identity } from "../../../shared/security/identity-headers.ts";
import { JwtVerifier, TokenCache } from "../../../shared/security/jwt.ts";
import type { RemoteJwks } from "../../../shared/security/jwks.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import { type Authenticated, carry, type FetchExchange, type Stage } from "../exchange.ts";

export type AuthnState = { remotes: Map<string, RemoteJwks>; fetcher: (url: string) => Promise<Response> };

/**
 * RequestAuthentication (Istio semantics; shared/security/authn.ts): a request without a token
 * passes with no principal; a request with an invalid token gets 401. Identity is this hop's
 * verified token or, on a service edge the gateway called, the identity the gateway verified
 * (unreadable identity headers: 403 identity_invalid, never "anonymous"). Headers derived from
 * claims (outputClaimToHeaders) are set from that identity or removed, before any later stage reads
 * a header. Reads `headers` and `query`; writes `headers`, `url` (a token removed) and hands on the
 * `identity`. Where nothing reads an identity (no rule, no policy, no key naming a claim), the
 * gateway's identity headers are passed on unread.
 */
export const authenticate = <T extends FetchExchange, R>(
  snapshot: Snapshot,
  state: AuthnState,
): Stage<T, Authenticated<T>, R> => {
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
  const readsIdentity = rules.length > 0 || identityRead(snapshot);

  const judge: Stage<T, Authenticated<T>, R> = async (x, next) => {
    let identity: Identity | undefined;
    let verifiedBy: CompiledJwtRule[] = [];
    if (x.trustedCaller && (readsIdentity || x.record.on)) {
      const fromGateway = decodeIdentity(x.headers.get(H.principal), x.headers.get(H.claims));
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
    const found = verifier && findToken(x.headers, x.query, locations);
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
        // The backend loses the token; decisions keep reading the client's query (`query` is its own copy).
        if (found.at.header) x.ownHeaders().delete(found.at.header);
        else if (found.at.param) x.url.searchParams.delete(found.at.param);
      }
      // The next hop (and the app) learn who this edge authenticated: the token's own payload, whatever its size.
      const headers = x.ownHeaders();
      headers.set(H.principal, result.principal);
      headers.set(H.claims, claimsHeaderOf(found.token));
    } else if (x.record.on && verifier)
      x.record.note("authn", identity ? `principal ${identity.principal} from the gateway` : "no token: no principal");
    // Headers produced from claims are the mesh's word: set from the verified identity, or removed.
    if (outputHeaders.length) applyDerivedHeaders(x.ownHeaders(), outputHeaders, verifiedBy, identity?.claims);
    return next(carry(x, "identity", identity));
  };
  if (verifier || readsIdentity) return judge;
  // Nothing here judges a token or reads the end user: the request goes on as it is (explain still says who).
  return (x, next) => (x.record.on && x.trustedCaller ? judge(x, next) : next(carry(x, "identity", undefined)));
};

/** Whether a decision of this snapshot reads the end user: an authorization policy, or a key naming a claim. */
export function identityRead(snapshot: Snapshot): boolean {
  const keys = [snapshot.policy?.stickySession?.hashOn, ...(snapshot.policy?.rateLimits ?? []).map((l) => l.key)];
  return !!snapshot.authz || keys.some((k) => !!k && "claim" in k);
}
