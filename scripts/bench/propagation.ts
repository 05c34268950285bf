import { mkdtempSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMesh } from "../lib/runtime.ts";
import { percentile } from "./load.ts";

// A kept-alive socket may be closed by workerd just as it is reused ("socket hang up"): retry once.
const get = (url: string, host: string): Promise<string> => getOnce(url, host).catch(() => getOnce(url, host));
const getOnce = (url: string, host: string) =>
  new Promise<string>((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve(body));
    });
    req.on("error", reject);
    req.end();
  });

/**
 * Apply → every edge serving the change, on a local mesh of `edges` services: each change moves
 * one service to its other version; we time until requests through the gateway see it, and also
 * how long `apply?wait=true` takes to confirm it.
 */
export async function propagationLocal(opts: { edges: number; changes: number; log: (s: string) => void }) {
  const dir = mkdtempSync(join(tmpdir(), "isomesh-prop-"));
  const services = Array.from({ length: opts.edges }, (_, i) => `s${i}`);
  writeFileSync(
    join(dir, "mesh.yaml"),
    `name: prop\nservices:\n${services.map((s) => `  - name: ${s}\n    versions: [{ name: a, echo: true }, { name: b, echo: true }]`).join("\n")}\n`,
  );
  const mesh = await startMesh({
    manifestPath: join(dir, "mesh.yaml"),
    port: 0,
    stateDir: join(dir, "state"),
    adminToken: "prop-token-0123456789",
    persist: false,
    gen: { accessLog: "off" },
    onLog: () => {},
  });
  const auth = { authorization: "Bearer prop-token-0123456789" };
  const gw = services
    .map(
      (s) =>
        `---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: { name: gw-${s} }\nspec:\n  parentRefs: [{ name: gateway }]\n  hostnames: [${s}.example]\n  rules: [{ backendRefs: [{ name: ${s} }] }]\n`,
    )
    .join("");
  await fetch(`${mesh.adminUrl}/v1/apply?wait=true`, { method: "POST", headers: auth, body: gw });
  // Warm every edge isolate so each is live (as in production, where traffic keeps them warm).
  await Promise.all(services.map((s) => get(`${mesh.gatewayUrl}/`, `${s}.example`)));
  const serving: number[] = [];
  const confirmed: number[] = [];
  for (let i = 0; i < opts.changes; i++) {
    const s = services[i % services.length];
    const version = i % 2 ? "a" : "b";
    const body = `apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: { name: ${s} }\nspec:\n  parentRefs: [{ kind: Service, name: ${s} }]\n  rules: [{ backendRefs: [{ name: ${s}, version: ${version} }] }]\n`;
    const t0 = performance.now();
    const applied = fetch(`${mesh.adminUrl}/v1/apply?wait=true`, { method: "POST", headers: auth, body }).then(() =>
      confirmed.push(performance.now() - t0),
    );
    for (;;) {
      const seen = JSON.parse(await get(`${mesh.gatewayUrl}/`, `${s}.example`)).version;
      if (seen === version) break;
    }
    serving.push(performance.now() - t0);
    await applied;
  }
  // One change that every edge must take: a TrafficPolicy targeting all services.
  const all = `apiVersion: isomesh.dev/v1\nkind: TrafficPolicy\nmetadata: { name: everyone }\nspec:\n  targetRefs: [${services.map((s) => `{ kind: Service, name: ${s} }`).join(", ")}]\n  concurrencyLimit: 1000\n`;
  const t0 = performance.now();
  const res = (await (
    await fetch(`${mesh.adminUrl}/v1/apply?wait=true&timeout=10s`, { method: "POST", headers: auth, body: all })
  ).json()) as { republished?: string[]; converged?: boolean };
  const allEdgesMs = performance.now() - t0;
  await mesh.dispose();
  const sorted = [...serving].sort((a, b) => a - b);
  const conf = [...confirmed].sort((a, b) => a - b);
  const out = {
    edges: opts.edges,
    changes: opts.changes,
    servingP50: percentile(sorted, 0.5),
    servingP99: percentile(sorted, 0.99),
    confirmedP50: percentile(conf, 0.5),
    confirmedP99: percentile(conf, 0.99),
    allEdgesMs,
    allEdgesRepublished: res.republished?.length ?? 0,
    allEdgesConverged: !!res.converged,
  };
  opts.log(
    `  ${opts.edges} edges: change served in p50 ${out.servingP50.toFixed(1)} ms / p99 ${out.servingP99.toFixed(1)} ms; apply --wait confirmed p50 ${out.confirmedP50.toFixed(1)} ms; a change to all ${out.allEdgesRepublished} edges converged in ${allEdgesMs.toFixed(0)} ms`,
  );
  return out;
}

/**
 * The worldwide case, simulated: L locations, each with its own Cache API (beacon max-age 1 s) and
 * I isolates re-checking every second; KV takes a random delay (up to 60 s) to show a new key in
 * a location, and an edge that misses reads the ConfigStore. Reports convergence time and the
 * ConfigStore's reads per second. Deterministic (seeded).
 */
export function propagationWorldwide(p: {
  locations: number;
  isolatesPerLocation: number;
  kvDelayMaxS: number;
  checkIntervalS: number;
  beaconMaxAgeS: number;
  seed: number;
}) {
  let seed = p.seed;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const stepS = 0.05;
  const kvVisibleAt = Array.from({ length: p.locations }, () => rand() * p.kvDelayMaxS);
  const cacheExpires = Array.from({ length: p.locations }, () => rand() * p.beaconMaxAgeS); // phase of each location's cached beacon
  const nextCheck = Array.from({ length: p.locations * p.isolatesPerLocation }, () => rand() * p.checkIntervalS);
  const converged = new Array<number>(p.locations * p.isolatesPerLocation).fill(-1);
  let beaconReads = 0;
  let snapshotFallbacks = 0;
  const cached = new Array<boolean>(p.locations).fill(false); // whether the location's cached beacon shows the new version
  for (let t = 0; t < 10 && converged.includes(-1); t += stepS) {
    for (let l = 0; l < p.locations; l++)
      if (t >= cacheExpires[l]) {
        beaconReads++;
        cached[l] = true; // the refreshed beacon names the new version (the change happened at t=0)
        cacheExpires[l] = t + p.beaconMaxAgeS;
      }
    for (let i = 0; i < nextCheck.length; i++) {
      if (converged[i] >= 0 || t < nextCheck[i]) continue;
      nextCheck[i] = t + p.checkIntervalS;
      const l = Math.floor(i / p.isolatesPerLocation);
      if (!cached[l]) continue;
      if (t < kvVisibleAt[l]) snapshotFallbacks++; // KV has not caught up here: read the ConfigStore once
      converged[i] = t;
    }
  }
  const times = converged.map((c) => (c < 0 ? 10 : c)).sort((a, b) => a - b);
  return {
    ...p,
    p50S: percentile(times, 0.5),
    p99S: percentile(times, 0.99),
    maxS: times[times.length - 1],
    beaconReadsPerS: beaconReads / Math.max(stepS, times[times.length - 1]),
    steadyBeaconReadsPerS: p.locations / p.beaconMaxAgeS,
    snapshotFallbacks,
    naiveOverwriteP99S: percentile(
      kvVisibleAt.map((v) => v + p.checkIntervalS).sort((a, b) => a - b),
      0.99,
    ),
  };
}
