import { CompactSign, compactVerify, createLocalJWKSet, importJWK, type CryptoKey } from "jose";
import * as z from "zod/mini";
import { Beacon } from "./distribution.ts";

// The beacon's integrity (DESIGN §2, Integrity). The control plane signs every beacon it serves with
// an Ed25519 key only it holds; data-plane isolates hold the public keys and verify what they read,
// wherever they read it (the Cache API is shared by every Worker on the zone, KV by every inline app).
// Only the beacon is signed: it names each shard manifest by SHA-256 and each manifest names each
// snapshot by SHA-256, so one signature covers everything an isolate installs. A JWS (RFC 7515) by
// jose, the library the edges already carry for JWTs, with WebCrypto's Ed25519 (workerd and Node 20).

/** How old a beacon an isolate still accepts (either way, for clock skew): older is a replay. */
export const BEACON_MAX_AGE_MS = 30_000;
/** A beacon is about 6 KB at most (64 shard hashes); anything far larger is not one, and is not read. */
export const MAX_BEACON_BYTES = 64 * 1024;
/** The JWS `typ` of a beacon: no other token signed by the same key could pass for one. */
const BEACON_TYP = "isomesh-beacon+jws";
/** Public keys a data plane accepts at once: the current one, and the next during a rotation. */
const MAX_KEYS = 8;

/** What the control plane signs: the beacon, the mesh it is for, and when it was issued (ms since the epoch). */
export const BeaconClaims = z.extend(Beacon, { mesh: z.string(), issuedAt: z.number() });
export type BeaconClaims = z.infer<typeof BeaconClaims>;

/** An Ed25519 public key as a JWK (RFC 8037), named by its `kid`. A private part (`d`) is refused. */
const PublicKey = z.strictObject({
  kty: z.literal("OKP"),
  crv: z.literal("Ed25519"),
  x: z.string().check(z.regex(/^[A-Za-z0-9_-]{43}$/)),
  kid: z.string().check(z.minLength(1), z.maxLength(128)),
  alg: z.optional(z.literal("EdDSA")),
  use: z.optional(z.literal("sig")),
});
/** The keys a data plane verifies beacons with (`BEACON_KEYS`): a JWKS of public keys only. */
export const BeaconKeySet = z.strictObject({ keys: z.array(PublicKey).check(z.minLength(1), z.maxLength(MAX_KEYS)) });
export type BeaconKeySet = z.infer<typeof BeaconKeySet>;

/** The control plane's signing key (`BEACON_SIGNING_KEY`): an Ed25519 private JWK with its `kid`. */
export const SigningJwk = z.extend(PublicKey, { d: z.string().check(z.regex(/^[A-Za-z0-9_-]{43}$/)) });
export type SigningJwk = z.infer<typeof SigningJwk>;

/** A beacon an isolate refuses (bad signature, unknown key, another mesh, too old): a reason for its report. */
export class BeaconRefused extends Error {}

const issues = (e: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }) =>
  e.issues.map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`).join("; ");

/** Reads `BEACON_KEYS` (JSON text); throws a BeaconRefused naming what is wrong, so an edge reports it. */
export function beaconKeySet(text: string | undefined): BeaconKeySet {
  if (!text) throw new BeaconRefused("no beacon keys (BEACON_KEYS): generate the data plane's config with isomesh gen");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BeaconRefused("BEACON_KEYS is not JSON");
  }
  const keys = (json as { keys?: unknown } | null)?.keys;
  if (Array.isArray(keys) && keys.some((k) => typeof k === "object" && k !== null && "d" in k))
    throw new BeaconRefused("BEACON_KEYS holds a private key (d): the data plane is given public keys only");
  const parsed = BeaconKeySet.safeParse(json);
  if (!parsed.success) throw new BeaconRefused(`BEACON_KEYS: ${issues(parsed.error)}`);
  return parsed.data;
}

/** The verifier of one key set: built once per isolate (jose keeps each imported key). */
export type BeaconVerifier = (token: unknown, now: number) => Promise<BeaconClaims>;

/**
 * Verifies a signed beacon for `mesh`: the signature by one of `keys` (EdDSA only), its type, its
 * claims, and that it was issued within BEACON_MAX_AGE_MS of `now`. Anything else is a BeaconRefused.
 */
export function beaconVerifier(keys: BeaconKeySet, mesh: string, maxAgeMs = BEACON_MAX_AGE_MS): BeaconVerifier {
  const jwks = createLocalJWKSet(keys);
  const kids = keys.keys.map((k) => k.kid).join(", ");
  return async (token, now) => {
    if (typeof token !== "string" || token.length > MAX_BEACON_BYTES) throw new BeaconRefused("not a signed beacon");
    let verified: Awaited<ReturnType<typeof compactVerify>>;
    try {
      verified = await compactVerify(token, jwks, { algorithms: ["EdDSA"] });
    } catch (e) {
      const code = (e as { code?: string }).code ?? "";
      throw new BeaconRefused(
        code === "ERR_JWKS_NO_MATCHING_KEY"
          ? `beacon signed by a key this data plane does not hold (it holds ${kids})`
          : code === "ERR_JWS_INVALID"
            ? "not a signed beacon (a compact JWS)"
            : code === "ERR_JOSE_ALG_NOT_ALLOWED"
              ? "beacon not signed with EdDSA"
              : `beacon signature invalid (${code || (e as Error).message})`,
      );
    }
    if (verified.protectedHeader.typ !== BEACON_TYP) throw new BeaconRefused("signed token is not a beacon");
    let payload: unknown;
    try {
      payload = JSON.parse(new TextDecoder().decode(verified.payload));
    } catch {
      throw new BeaconRefused("beacon claims are not JSON");
    }
    const claims = BeaconClaims.safeParse(payload);
    if (!claims.success) throw new BeaconRefused(`beacon claims: ${issues(claims.error)}`);
    const beacon = claims.data;
    if (beacon.mesh !== mesh) throw new BeaconRefused(`beacon is for mesh ${beacon.mesh}, not ${mesh}`);
    const age = now - beacon.issuedAt;
    if (Math.abs(age) > maxAgeMs)
      throw new BeaconRefused(
        `beacon version ${beacon.version} was issued ${Math.round(age / 1000)} s ago, beyond the ${maxAgeMs / 1000} s bound (a replay, or a clock off)`,
      );
    return beacon;
  };
}

export type SigningKey = { kid: string; key: CryptoKey };

/** Imports the control plane's `BEACON_SIGNING_KEY` (JSON text of a private JWK). */
export async function importSigningKey(text: string): Promise<SigningKey> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error("BEACON_SIGNING_KEY is not JSON");
  }
  const parsed = SigningJwk.safeParse(json);
  if (!parsed.success) throw new Error(`BEACON_SIGNING_KEY: ${issues(parsed.error)}`);
  const key = await importJWK({ ...parsed.data, alg: "EdDSA" }, "EdDSA");
  return { kid: parsed.data.kid, key: key as CryptoKey };
}

/** Signs a beacon as a compact JWS: `<header>.<claims>.<signature>`, all base64url. */
export function signBeacon(claims: BeaconClaims, signer: SigningKey): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: "EdDSA", kid: signer.kid, typ: BEACON_TYP })
    .sign(signer.key);
}
