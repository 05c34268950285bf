import { compileSnapshot } from "../../shared/snapshot/compile.ts";
import { Snapshot } from "../../shared/snapshot/schema.ts";
import { RouteTable } from "../../shared/routing/match.ts";
import { buildBeacon, recompile } from "../../workers/control/config-store/publish.ts";
import { syntheticMesh } from "../lib/synthetic-mesh.ts";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { median } from "./load.ts";

// A real gc() without restarting node with --expose-gc, so heap deltas are not GC noise.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

export type ScaleRow = {
  services: number;
  edgeBytes: number;
  gatewayBytes: number;
  edgeHeapBytes: number;
  compileMs: number;
  publishMs: number;
  republished: number;
  gatewayCompileMs: number;
};

/** Heap held by `copies` parsed + prepared snapshots, per copy (Node's V8: the same engine as workerd). */
function heapPerSnapshot(body: string, copies = 200): number {
  gc();
  const before = process.memoryUsage().heapUsed;
  const keep: unknown[] = [];
  for (let i = 0; i < copies; i++) {
    const s = Snapshot.parse(JSON.parse(body));
    keep.push([s, new RouteTable(s.vhosts, s)]);
  }
  gc();
  const after = process.memoryUsage().heapUsed;
  return keep.length ? Math.max(0, (after - before) / copies) : 0;
}

/**
 * Synthetic meshes of N services (2 versions, a gateway route, a canary route and a TrafficPolicy
 * each): the size of one service edge's snapshot, its heap once loaded, and the cost of one change.
 */
export async function configScale(sizes: number[], log: (s: string) => void): Promise<ScaleRow[]> {
  const rows: ScaleRow[] = [];
  for (const n of sizes) {
    const { topology, resources } = syntheticMesh(n);
    const edge = "svc-00042-edge";
    const edgeBody = JSON.stringify(compileSnapshot(topology, edge, resources, 1));
    const gatewayBody = JSON.stringify(compileSnapshot(topology, "gateway", resources, 1));
    // One change: the canary route of one service. Recompile what it feeds, then the beacon.
    const compileTimes: number[] = [];
    const publishTimes: number[] = [];
    let republished = 0;
    const hashes = new Map<string, string>(topology.services.map((s) => [`${s.name}-edge`, "0".repeat(64)]));
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const changed = await recompile(topology, resources, [edge], 2 + i, () => undefined);
      const t1 = performance.now();
      for (const c of changed) hashes.set(c.edge, c.hash);
      await buildBeacon(
        2 + i,
        hashes,
        changed.map((c) => c.edge),
        { version: 1, shards: new Array(64).fill("") },
      );
      publishTimes.push(performance.now() - t1);
      compileTimes.push(t1 - t0);
      republished = changed.length;
    }
    // A north-south change (a gateway route) recompiles the one gateway snapshot instead.
    const g0 = performance.now();
    await recompile(topology, resources, ["gateway"], 99, () => undefined);
    const gatewayCompileMs = performance.now() - g0;
    const row = {
      services: n,
      gatewayCompileMs,
      edgeBytes: edgeBody.length,
      gatewayBytes: gatewayBody.length,
      edgeHeapBytes: heapPerSnapshot(edgeBody),
      compileMs: median(compileTimes),
      publishMs: median(publishTimes),
      republished,
    };
    rows.push(row);
    log(
      `  ${n} services: edge snapshot ${row.edgeBytes} B (heap ≈ ${(row.edgeHeapBytes / 1024).toFixed(1)} KiB), gateway ${(row.gatewayBytes / 1024).toFixed(0)} KiB, change compiled in ${row.compileMs.toFixed(2)} ms (a gateway change ${row.gatewayCompileMs.toFixed(0)} ms), beacon in ${row.publishMs.toFixed(2)} ms, ${row.republished} snapshot republished`,
    );
  }
  return rows;
}
