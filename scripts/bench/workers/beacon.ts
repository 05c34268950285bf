// What checking a beacon costs inside workerd (run by scripts/bench/beacon.ts): signing it (the
// control plane, once per read of the control plane) and verifying it (each data-plane isolate,
// once per check, off the request path), for a small mesh and for a beacon whose 64 shards all
// name a manifest (the largest a beacon gets, whatever the mesh size).
import { BEACON_SHARDS } from "../../../shared/snapshot/distribution.ts";
import { sha256Hex } from "../../../shared/snapshot/hash.ts";
import { beaconKeySet, beaconVerifier, importSigningKey, signBeacon } from "../../../shared/snapshot/signature.ts";

type Env = { SIGNING_KEY: string; KEYS: string };

async function usPer(n: number, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(n, 50); i++) await fn();
  const t0 = Date.now(); // workerd's clock advances on I/O only: WebCrypto's promises are enough here
  for (let i = 0; i < n; i++) await fn();
  return ((Date.now() - t0) * 1000) / n;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const n = Number(new URL(request.url).searchParams.get("n") ?? 2000);
    const signer = await importSigningKey(env.SIGNING_KEY);
    const verify = beaconVerifier(beaconKeySet(env.KEYS), "bench");
    const full = await Promise.all(Array.from({ length: BEACON_SHARDS }, (_, i) => sha256Hex(String(i))));
    const small = Array.from({ length: BEACON_SHARDS }, (_, i) => (i < 3 ? full[i] : ""));
    const out: Record<string, number> = {};
    for (const [name, shards] of [
      ["small", small],
      ["full", full],
    ] as const) {
      const claims = () => ({ version: 42, shards, mesh: "bench", issuedAt: Date.now() });
      const token = await signBeacon(claims(), signer);
      out[`${name} bytes`] = token.length;
      out[`${name} sign us`] = await usPer(n, () => signBeacon(claims(), signer));
      out[`${name} verify us`] = await usPer(n, () => verify(token, Date.now()));
    }
    // A cold isolate's first check also builds its verifier (parses BEACON_KEYS, imports the key).
    const token = await signBeacon({ version: 1, shards: small, mesh: "bench", issuedAt: Date.now() }, signer);
    out["cold verify us"] = await usPer(Math.max(50, n / 20), () =>
      beaconVerifier(beaconKeySet(env.KEYS), "bench")(token, Date.now()),
    );
    return Response.json(out);
  },
};
