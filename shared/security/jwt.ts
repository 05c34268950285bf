import { decodeJwt, decodeProtectedHeader, type JSONWebKeySet, type JWK, jwtVerify } from "jose";
import type { CompiledJwtRule } from "./authn.ts";
import { type Fetcher, localKeySet, RemoteJwks } from "./jwks.ts";

export type Verified = {
  ok: true;
  principal: string;
  claims: Record<string, unknown>;
  rule: CompiledJwtRule;
  cached: boolean;
};
export type Rejected = { ok: false; reason: string; policy?: string };

export const MAX_TOKEN_BYTES = 8 * 1024;
const NO_EXP_CACHE_MS = 60_000;
const ASYMMETRIC = new Set(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"]);
const FORBIDDEN_HEADERS = ["jku", "x5u", "jwk", "x5c"];
const SEGMENT = /^[A-Za-z0-9_-]+$/;

/** The end-user principal Istio writes as `iss/sub`. */
export const principalOf = (claims: Record<string, unknown>) => `${claims.iss ?? ""}/${claims.sub ?? ""}`;

/** The algorithms a key may verify: its `alg` if it names one, else what its type allows. */
export function algorithmsFor(keys: JWK[]): string[] {
  const out = new Set<string>();
  for (const k of keys) {
    if (k.alg) {
      if (ASYMMETRIC.has(k.alg)) out.add(k.alg);
    } else if (k.kty === "RSA") ["RS256", "PS256"].forEach((a) => out.add(a));
    else if (k.kty === "EC") out.add(k.crv === "P-384" ? "ES384" : "ES256");
    else if (k.kty === "OKP" && k.crv === "Ed25519") out.add("EdDSA");
  }
  return [...out];
}

/**
 * A bounded cache of verified tokens, valid until their exp: a repeated token costs one hash-map
 * lookup, not a signature check. The key is the token itself (the Map hashes it and compares the
 * whole string on a hit, so a forged token can never match); a SHA-256 key would cost an async
 * WebCrypto digest, about 30 µs, on every request. Bounded in entries and bytes.
 */
export class TokenCache {
  private readonly entries = new Map<string, { verified: Omit<Verified, "cached">; until: number }>();
  private bytes = 0;
  constructor(
    private readonly max = 10_000,
    private readonly maxBytes = 4 * 2 ** 20,
  ) {}
  get(token: string, now: number) {
    const e = this.entries.get(token);
    if (!e) return undefined;
    if (e.until <= now) {
      this.delete(token);
      return undefined;
    }
    return e.verified;
  }
  set(token: string, verified: Omit<Verified, "cached">, until: number) {
    this.delete(token);
    while (this.entries.size && (this.entries.size >= this.max || this.bytes + token.length > this.maxBytes))
      this.delete(this.entries.keys().next().value!);
    this.entries.set(token, { verified, until });
    this.bytes += token.length;
  }
  get size() {
    return this.entries.size;
  }
  private delete(token: string) {
    if (this.entries.delete(token)) this.bytes -= token.length;
  }
}

/**
 * Verifies compact JWS tokens against the issuers a RequestAuthentication names. Refuses before
 * any key lookup: oversized or malformed tokens, `none`/HMAC algorithms, key-carrying headers
 * (jku, x5u, jwk, x5c), unknown issuers (so they never cause a JWKS fetch).
 */
export class JwtVerifier {
  private readonly remotes = new Map<string, RemoteJwks>();

  constructor(
    private readonly rules: CompiledJwtRule[],
    private readonly deps: {
      fetcher: Fetcher;
      cache: TokenCache;
      now?: () => number;
      remotes?: Map<string, RemoteJwks>;
    },
  ) {
    if (deps.remotes) this.remotes = deps.remotes;
  }

  async verify(token: string): Promise<Verified | Rejected> {
    if (token.length > MAX_TOKEN_BYTES) return { ok: false, reason: `token larger than ${MAX_TOKEN_BYTES} bytes` };
    const now = (this.deps.now ?? Date.now)();
    // Only tokens that passed every check below are cached, so a hit needs no re-parsing.
    const hit = this.deps.cache.get(token, now);
    if (hit) return { ...hit, cached: true };
    const parts = token.split(".");
    if (parts.length !== 3 || !parts.every((p) => SEGMENT.test(p)))
      return { ok: false, reason: "not a compact JWS (three non-empty base64url segments)" };

    let header: ReturnType<typeof decodeProtectedHeader>;
    let payload: ReturnType<typeof decodeJwt>;
    try {
      header = decodeProtectedHeader(token);
      payload = decodeJwt(token);
    } catch {
      return { ok: false, reason: "malformed token" };
    }
    const forbidden = FORBIDDEN_HEADERS.find((h) => h in header);
    if (forbidden) return { ok: false, reason: `tokens carrying a "${forbidden}" header are refused` };
    if (!header.alg || !ASYMMETRIC.has(header.alg))
      return { ok: false, reason: `algorithm ${JSON.stringify(header.alg)} is not accepted` };
    const candidates = this.rules.filter((r) => r.issuer === payload.iss);
    if (candidates.length === 0) return { ok: false, reason: "issuer is not trusted here" };

    let last = "no key matched";
    for (const rule of candidates) {
      try {
        const keys: JSONWebKeySet = rule.jwks
          ? { keys: rule.jwks as JWK[] }
          : await this.remote(rule.jwksUri!).keySet(header.kid);
        const algorithms = algorithmsFor(keys.keys);
        if (!algorithms.includes(header.alg))
          throw new Error(`algorithm ${header.alg} does not match the issuer's keys`);
        const { payload: claims } = await jwtVerify(token, localKeySet(keys), {
          issuer: rule.issuer,
          audience: rule.audiences.length ? rule.audiences : undefined,
          algorithms,
          clockTolerance: rule.clockSkewSeconds,
          requiredClaims: rule.requireExpiration ? ["exp"] : undefined,
          currentDate: new Date(now),
        });
        const verified = {
          ok: true as const,
          principal: principalOf(claims),
          claims: claims as Record<string, unknown>,
          rule,
        };
        // A token without exp (accepted unless the rule requires one) is cached for a minute.
        this.deps.cache.set(
          token,
          verified,
          typeof claims.exp === "number" ? claims.exp * 1000 : now + NO_EXP_CACHE_MS,
        );
        return { ...verified, cached: false };
      } catch (e) {
        last = describe(e);
      }
    }
    return { ok: false, reason: last, policy: candidates[0].policy };
  }

  private remote(uri: string): RemoteJwks {
    let r = this.remotes.get(uri);
    if (!r) this.remotes.set(uri, (r = new RemoteJwks(uri, this.deps.fetcher, this.deps.now)));
    return r;
  }
}

function describe(e: unknown): string {
  const code = (e as { code?: string }).code;
  switch (code) {
    case "ERR_JWT_EXPIRED":
      return "token expired";
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      return `claim check failed: ${(e as Error).message}`;
    case "ERR_JWKS_NO_MATCHING_KEY":
      return "no key of the issuer matches the token's kid";
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "signature verification failed";
    default:
      return (e as Error).message ?? "invalid token";
  }
}
