import { importSigningKey, signBeacon, type BeaconClaims } from "../../shared/snapshot/signature.ts";

/** A test-only Ed25519 key (never a mesh's): configs generated in tests verify beacons with its public half. */
export const TEST_SIGNING_JWK = {
  kty: "OKP",
  crv: "Ed25519",
  x: "V48hVYjR5jah1cz1pljkf01hWYade27KmW-5pr3Xo7Y",
  kid: "pAmY92d55N9f6cx48YljVk-_XVmCZHWm-OHtJb6PwMM",
  alg: "EdDSA",
  use: "sig",
  d: "k9KPNR9GDC3ew1QOiVR0CEpea6VwCtioUZ1A6RBbv_o",
} as const;

const { d: _private, ...publicJwk } = TEST_SIGNING_JWK;
/** `GenOptions.beaconKeys` for tests that only read the generated configs. */
export const TEST_BEACON_KEYS = JSON.stringify({ keys: [publicJwk] });

/** Signs a beacon as the control plane would, with the test key. */
export async function testSignedBeacon(claims: BeaconClaims): Promise<string> {
  return signBeacon(claims, await importSigningKey(JSON.stringify(TEST_SIGNING_JWK)));
}
