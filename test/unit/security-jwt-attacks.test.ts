import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import type { CompiledJwtRule } from "../../shared/security/authn.ts";
import { JwtVerifier, TokenCache, algorithmsFor } from "../../shared/security/jwt.ts";
import { RemoteJwks } from "../../shared/security/jwks.ts";

const ISS = "https://issuer.example";
const NOW = Date.UTC(2026, 10, 24, 12);
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");

let rsa: CryptoKeyPair, rsaJwk: JWK, other: CryptoKeyPair, ec: CryptoKeyPair, ecJwk: JWK, ed: CryptoKeyPair, edJwk: JWK;
const rule = (over: Partial<CompiledJwtRule> = {}): CompiledJwtRule => ({
  policy: "jwt",
  issuer: ISS,
  audiences: ["bookinfo"],
  jwks: [rsaJwk, ecJwk, edJwk] as Record<string, unknown>[],
  fromHeaders: [],
  fromParams: [],
  forwardOriginalToken: false,
  outputClaimToHeaders: [],
  clockSkewSeconds: 60,
  requireExpiration: false,
  ...over,
});
const verifier = (
  r = rule(),
  fetcher = async (_u: string): Promise<Response> => {
    throw new Error("no network");
  },
) => new JwtVerifier([r], { fetcher, cache: new TokenCache(), now: () => NOW });

async function token(
  key: CryptoKey,
  alg: string,
  kid: string,
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
) {
  const now = Math.floor(NOW / 1000);
  return new SignJWT({ sub: "jason", aud: "bookinfo", iss: ISS, iat: now, exp: now + 3600, ...claims })
    .setProtectedHeader({ alg, kid, ...header })
    .sign(key);
}

beforeAll(async () => {
  rsa = await generateKeyPair("RS256", { extractable: true });
  rsaJwk = { ...(await exportJWK(rsa.publicKey)), kid: "rsa1", alg: "RS256" };
  other = await generateKeyPair("RS256");
  ec = await generateKeyPair("ES256", { extractable: true });
  ecJwk = { ...(await exportJWK(ec.publicKey)), kid: "ec1" };
  ed = await generateKeyPair("EdDSA", { extractable: true, crv: "Ed25519" });
  edJwk = { ...(await exportJWK(ed.publicKey)), kid: "ed1" };
});

describe("JWT verification: valid tokens", () => {
  it.each(["RS256", "ES256", "EdDSA"])("accepts %s and names the principal iss/sub", async (alg) => {
    const key = alg === "RS256" ? rsa.privateKey : alg === "ES256" ? ec.privateKey : ed.privateKey;
    const r = await verifier().verify(
      await token(key, alg, alg === "RS256" ? "rsa1" : alg === "ES256" ? "ec1" : "ed1"),
    );
    expect(r).toMatchObject({ ok: true, principal: `${ISS}/jason` });
  });

  it("serves a repeated token from the cache", async () => {
    const v = verifier();
    const t = await token(rsa.privateKey, "RS256", "rsa1");
    expect((await v.verify(t)).ok && (await v.verify(t))).toMatchObject({ cached: true });
  });
});

describe("the verified-token cache", () => {
  it("never serves a tampered copy of a cached token", async () => {
    const v = verifier();
    const good = await token(rsa.privateKey, "RS256", "rsa1");
    expect(await v.verify(good)).toMatchObject({ ok: true });
    const [h, , s] = good.split(".");
    const forged = `${h}.${b64({ iss: ISS, sub: "admin", aud: "bookinfo", exp: NOW / 1000 + 60 })}.${s}`;
    expect(await v.verify(forged)).toMatchObject({ ok: false });
    expect(await v.verify(`${good} `)).toMatchObject({ ok: false });
  });

  it("expires entries at exp and stays within its entry and byte bounds", () => {
    const c = new TokenCache(3, 100);
    const v = { ok: true as const, principal: "p", claims: {}, rule: rule() };
    c.set("a".repeat(40), v, NOW + 1000);
    c.set("b".repeat(40), v, NOW + 1000);
    c.set("c".repeat(40), v, NOW + 1000); // 120 bytes > 100: "a…" goes
    expect(c.get("a".repeat(40), NOW)).toBeUndefined();
    expect(c.get("c".repeat(40), NOW)).toBeDefined();
    expect(c.get("b".repeat(40), NOW + 1000)).toBeUndefined();
    for (const k of ["d", "e", "f", "g"]) c.set(k, v, NOW + 1000);
    expect(c.size).toBeLessThanOrEqual(3);
  });
});

describe("JWT verification: the attack table", () => {
  const cases: [string, () => Promise<string>, RegExp][] = [
    [
      "alg none",
      async () =>
        `${b64({ alg: "none", kid: "rsa1" })}.${b64({ iss: ISS, sub: "x", aud: "bookinfo", exp: NOW / 1000 + 60 })}.`,
      /compact JWS|not accepted/,
    ],
    [
      "alg none with a fake signature",
      async () => `${b64({ alg: "none" })}.${b64({ iss: ISS, sub: "x" })}.AAAA`,
      /not accepted/,
    ],
    [
      "HS256 signed with the RSA public key",
      async () => {
        const secret = new TextEncoder().encode(JSON.stringify(rsaJwk));
        return new SignJWT({ sub: "x", aud: "bookinfo" })
          .setProtectedHeader({ alg: "HS256", kid: "rsa1" })
          .setIssuer(ISS)
          .setExpirationTime(NOW / 1000 + 60)
          .sign(secret);
      },
      /not accepted/,
    ],
    ["expired", () => token(rsa.privateKey, "RS256", "rsa1", { exp: Math.floor(NOW / 1000) - 120 }), /expired/],
    [
      "nbf in the future",
      () => token(rsa.privateKey, "RS256", "rsa1", { nbf: Math.floor(NOW / 1000) + 600 }),
      /claim check failed|nbf/,
    ],
    [
      "wrong issuer",
      () => token(rsa.privateKey, "RS256", "rsa1", { iss: "https://evil.example" }),
      /issuer is not trusted/,
    ],
    ["wrong audience", () => token(rsa.privateKey, "RS256", "rsa1", { aud: "other" }), /aud/],
    [
      "tampered payload",
      async () => {
        const [h, , s] = (await token(rsa.privateKey, "RS256", "rsa1")).split(".");
        return `${h}.${b64({ iss: ISS, sub: "admin", aud: "bookinfo", exp: NOW / 1000 + 60 })}.${s}`;
      },
      /signature/,
    ],
    ["signed by another key with a known kid", () => token(other.privateKey, "RS256", "rsa1"), /signature/],
    ["unknown kid", () => token(other.privateKey, "RS256", "nope"), /no key/],
    ["embedded jwk header", () => token(other.privateKey, "RS256", "rsa1", {}, { jwk: rsaJwk }), /"jwk" header/],
    [
      "jku header",
      () => token(rsa.privateKey, "RS256", "rsa1", {}, { jku: "https://evil.example/jwks" }),
      /"jku" header/,
    ],
    [
      "x5u header",
      () => token(rsa.privateKey, "RS256", "rsa1", {}, { x5u: "https://evil.example/cert" }),
      /"x5u" header/,
    ],
    [
      "PS256 with a key pinned to RS256",
      async () =>
        new SignJWT({ sub: "x", aud: "bookinfo" })
          .setProtectedHeader({ alg: "PS256", kid: "rsa1" })
          .setIssuer(ISS)
          .setExpirationTime(NOW / 1000 + 60)
          .sign((await generateKeyPair("PS256")).privateKey),
      /does not match/,
    ],
    ["garbage", async () => "garbage", /compact JWS/],
    ["empty segments", async () => "..", /compact JWS/],
    ["JWE-shaped (five segments)", async () => "a.b.c.d.e", /compact JWS/],
    ["non-JSON header", async () => `${Buffer.from("not json").toString("base64url")}.${b64({})}.c2ln`, /malformed/],
    ["oversized", async () => "a".repeat(9000) + ".b.c", /larger than/],
  ];
  it.each(cases)("rejects %s", async (_name, make, reason) => {
    const r = await verifier().verify(await make());
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(reason);
  });
});

describe("remote JWKS", () => {
  const serve = (keys: JWK[]) => {
    const calls: string[] = [];
    let current = keys;
    const fetcher = async (url: string) => {
      calls.push(url);
      return new Response(JSON.stringify({ keys: current }));
    };
    return { calls, fetcher, rotate: (k: JWK[]) => (current = k) };
  };

  it("never fetches for an unknown issuer", async () => {
    const s = serve([rsaJwk]);
    const v = verifier(rule({ jwks: undefined, jwksUri: "https://issuer.example/jwks" }), s.fetcher);
    for (let i = 0; i < 20; i++)
      await v.verify(await token(rsa.privateKey, "RS256", "rsa1", { iss: `https://evil${i}.example` }));
    expect(s.calls).toHaveLength(0);
  });

  it("refetches for unknown kids at most once per cooldown, and follows a rotation", async () => {
    const s = serve([rsaJwk]);
    let now = NOW;
    const remotes = new Map<string, RemoteJwks>();
    const v = new JwtVerifier([rule({ jwks: undefined, jwksUri: "https://issuer.example/jwks" })], {
      fetcher: s.fetcher,
      cache: new TokenCache(),
      now: () => now,
      remotes,
    });
    expect((await v.verify(await token(rsa.privateKey, "RS256", "rsa1"))).ok).toBe(true);
    for (let i = 0; i < 50; i++)
      expect((await v.verify(await token(other.privateKey, "RS256", `bad-${i}`))).ok).toBe(false);
    expect(s.calls).toHaveLength(1); // the bad kids arrived within the cooldown of the first fetch
    const rotated = { ...(await exportJWK(ec.publicKey)), kid: "ec-new" };
    s.rotate([rotated]);
    now += 31_000;
    expect((await v.verify(await token(ec.privateKey, "ES256", "ec-new"))).ok).toBe(true);
    expect(s.calls).toHaveLength(2);
  });

  it("serves the last good JWKS when a refresh fails", async () => {
    let fail = false;
    let now = NOW;
    const jwks = new RemoteJwks(
      "https://issuer.example/jwks",
      async () => {
        if (fail) throw new Error("down");
        return new Response(JSON.stringify({ keys: [rsaJwk] }));
      },
      () => now,
    );
    expect((await jwks.keySet("rsa1")).keys).toHaveLength(1);
    fail = true;
    now += 11 * 60_000;
    expect((await jwks.keySet("rsa1")).keys).toHaveLength(1);
  });
});

describe("algorithm pinning", () => {
  it("derives algorithms from keys, never symmetric ones", () => {
    expect(
      algorithmsFor([
        { kty: "RSA", alg: "RS256" },
        { kty: "EC", crv: "P-256" },
        { kty: "OKP", crv: "Ed25519" },
        { kty: "oct", alg: "HS256" },
      ]),
    ).toEqual(["RS256", "ES256", "EdDSA"]);
  });
});

describe("tokens without exp (per issuer rule)", () => {
  it("are accepted by default, as Istio does, and cached for a minute", async () => {
    const cache = new TokenCache();
    let now = NOW;
    const v = new JwtVerifier([rule()], { fetcher: async () => new Response(), cache, now: () => now });
    const t = await token(rsa.privateKey, "RS256", "rsa1", { exp: undefined });
    expect(await v.verify(t)).toMatchObject({ ok: true, cached: false });
    expect(await v.verify(t)).toMatchObject({ ok: true, cached: true });
    now += 61_000;
    expect(await v.verify(t)).toMatchObject({ ok: true, cached: false });
  });

  it("are refused by a rule with requireExpiration, naming the missing claim", async () => {
    const r = await verifier(rule({ requireExpiration: true })).verify(
      await token(rsa.privateKey, "RS256", "rsa1", { exp: undefined }),
    );
    expect(r).toMatchObject({ ok: false });
    expect(!r.ok && r.reason).toMatch(/"exp"/);
    expect(
      await verifier(rule({ requireExpiration: true })).verify(await token(rsa.privateKey, "RS256", "rsa1")),
    ).toMatchObject({ ok: true });
  });
});
