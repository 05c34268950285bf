import { CompactSign, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import { BEACON_SHARDS } from "../../shared/snapshot/distribution.ts";
import {
  BEACON_MAX_AGE_MS,
  beaconKeySet,
  beaconVerifier,
  importSigningKey,
  signBeacon,
  type BeaconClaims,
} from "../../shared/snapshot/signature.ts";
import { newSigningKey, publicKeys } from "../../scripts/lib/beacon-keys.ts";
import { signedBeacon } from "../../workers/control/beacon-signer.ts";
import type { ControlEnv } from "../../workers/control/env.ts";

// What a data-plane isolate accepts as a beacon (shared/snapshot/signature.ts): table-driven, each
// forgery an app could put in the shared cache, each refused with a reason its report can show.
const NOW = 1_800_000_000_000;
const claims = (over: Partial<BeaconClaims> = {}): BeaconClaims => ({
  version: 7,
  shards: new Array(BEACON_SHARDS).fill(""),
  mesh: "m",
  issuedAt: NOW,
  ...over,
});
const key = await newSigningKey();
const signer = await importSigningKey(JSON.stringify(key));
const verify = beaconVerifier(beaconKeySet(JSON.stringify(publicKeys({ keys: [key] }))), "m");
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");

describe("beacon signature", () => {
  it("accepts what the control plane signs, within the age bound either way", async () => {
    expect(await verify(await signBeacon(claims(), signer), NOW)).toEqual(claims());
    expect((await verify(await signBeacon(claims(), signer), NOW + BEACON_MAX_AGE_MS)).version).toBe(7);
    expect((await verify(await signBeacon(claims(), signer), NOW - BEACON_MAX_AGE_MS)).version).toBe(7);
  });

  const forgeries: [string, () => Promise<unknown>, RegExp][] = [
    ["plain JSON, as beacons were", async () => JSON.stringify(claims({ version: 999_999 })), /not a signed beacon/],
    ["an object", async () => claims(), /not a signed beacon/],
    [
      "claims edited under a kept signature",
      async () => {
        const [h, , s] = (await signBeacon(claims(), signer)).split(".");
        return `${h}.${b64(claims({ version: 999_999 }))}.${s}`;
      },
      /signature invalid/,
    ],
    [
      "alg none",
      async () => `${b64({ alg: "none", kid: key.kid, typ: "isomesh-beacon+jws" })}.${b64(claims())}.`,
      /not signed with EdDSA|not a signed beacon/,
    ],
    [
      "another key under the same kid",
      async () => {
        const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
        return new CompactSign(new TextEncoder().encode(JSON.stringify(claims())))
          .setProtectedHeader({ alg: "EdDSA", kid: key.kid, typ: "isomesh-beacon+jws" })
          .sign(privateKey);
      },
      /signature invalid/,
    ],
    [
      "an unknown key",
      async () => signBeacon(claims(), await importSigningKey(JSON.stringify(await newSigningKey()))),
      /a key this data plane does not hold \(it holds /,
    ],
    [
      "another JWS type signed by the same key",
      async () =>
        new CompactSign(new TextEncoder().encode(JSON.stringify(claims())))
          .setProtectedHeader({ alg: "EdDSA", kid: key.kid, typ: "JWT" })
          .sign(signer.key),
      /not a beacon/,
    ],
    ["another mesh", async () => signBeacon(claims({ mesh: "n" }), signer), /for mesh n, not m/],
    ["a replay past the bound", async () => signBeacon(claims({ issuedAt: NOW - 31_000 }), signer), /31 s ago/],
    [
      "issued in the future",
      async () => signBeacon(claims({ issuedAt: NOW + 31_000 }), signer),
      /beyond the 30 s bound/,
    ],
    [
      "claims of the wrong shape",
      async () => signBeacon({ ...claims(), shards: ["a"] }, signer),
      /beacon claims: shards/,
    ],
  ];
  it.each(forgeries)("refuses %s", async (_name, forge, reason) => {
    await expect(verify(await forge(), NOW)).rejects.toThrow(reason);
  });

  it.each([
    ["nothing", undefined, /no beacon keys/],
    ["not JSON", "{", /not JSON/],
    ["a private key", JSON.stringify({ keys: [key] }), /holds a private key \(d\)/],
    ["an empty set", JSON.stringify({ keys: [] }), /keys/],
    ["an RSA key", JSON.stringify({ keys: [{ kty: "RSA", n: "x", e: "AQAB", kid: "r" }] }), /kty/],
  ])("BEACON_KEYS of %s is refused", (_name, text, reason) => {
    expect(() => beaconKeySet(text)).toThrow(reason);
  });
});

describe("the control plane's signer", () => {
  const env = (key?: string) => ({ BEACON_SIGNING_KEY: key }) as unknown as ControlEnv;
  const stored = { version: 3, shards: new Array(BEACON_SHARDS).fill("") };

  it("signs what the store holds, for its mesh, issued now", async () => {
    const token = await signedBeacon(env(JSON.stringify(key)), "m", stored);
    expect(await verify(token, Date.now())).toMatchObject({ ...stored, mesh: "m" });
  });

  it("without its secret, says which one and how to set it", async () => {
    await expect(signedBeacon(env(), "m", stored)).rejects.toThrow(
      /no BEACON_SIGNING_KEY secret.*isomesh deploy, or wrangler secret put BEACON_SIGNING_KEY/,
    );
  });

  it("refuses a public key where the private one belongs", async () => {
    const { d: _private, ...pub } = key;
    await expect(signedBeacon(env(JSON.stringify(pub)), "m", stored)).rejects.toThrow(/BEACON_SIGNING_KEY: d/);
  });
});
