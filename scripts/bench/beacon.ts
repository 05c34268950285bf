// What signed beacons cost (issue 25), measured inside workerd: the beacon's size, signing it, verifying it.
//   node --import tsx scripts/bench/beacon.ts [n=2000]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Miniflare } from "miniflare";
import { bundleWorker } from "../lib/bundle.ts";
import { newSigningKey, publicKeys } from "../lib/beacon-keys.ts";
import { REPO_ROOT } from "../lib/paths.ts";

export type BeaconCost = {
  /** A compact JWS, as the cache and the control binding carry it: a small mesh's, and one with every shard set. */
  smallBytes: number;
  fullBytes: number;
  signUs: number;
  /** One verification by a warm isolate (its verifier built), for a full beacon. */
  verifyUs: number;
  /** The first verification of a cold isolate: its key set read and its key imported too. */
  coldVerifyUs: number;
};

export async function beaconCost(n = 2000): Promise<BeaconCost> {
  const dir = mkdtempSync(join(tmpdir(), "isomesh-beacon-bench-"));
  const key = await newSigningKey();
  const scriptPath = await bundleWorker(resolve(REPO_ROOT, "scripts/bench/workers/beacon.ts"), undefined, dir);
  const mf = new Miniflare({
    modules: true,
    scriptPath,
    modulesRoot: dirname(scriptPath),
    compatibilityDate: "2026-04-26",
    compatibilityFlags: ["nodejs_compat"],
    bindings: { SIGNING_KEY: JSON.stringify(key), KEYS: JSON.stringify(publicKeys({ keys: [key] })) },
  });
  try {
    const r = (await (await mf.dispatchFetch(`http://bench/?n=${n}`)).json()) as Record<string, number>;
    return {
      smallBytes: r["small bytes"],
      fullBytes: r["full bytes"],
      signUs: r["full sign us"],
      verifyUs: r["full verify us"],
      coldVerifyUs: r["cold verify us"],
    };
  } finally {
    await mf.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const c = await beaconCost(Number(process.argv[2] ?? 2000));
  console.log(
    `beacon ${c.smallBytes} B (small mesh) to ${c.fullBytes} B (every shard set); sign ${c.signUs.toFixed(0)} µs, verify ${c.verifyUs.toFixed(0)} µs (a cold isolate's first ${c.coldVerifyUs.toFixed(0)} µs), in workerd`,
  );
}
