// Where a hop's CPU goes: the ladder. Each rung is a pass-through with one more part of the edge than
// the rung below (scripts/bench/workers/ladder.ts), in its own workerd process. Two measures:
// - cpu: one client sends sequential keep-alive requests to each rung in turn, `runs` times, and the
//   rung's workerd process's own CPU time (user + system, /proc) over the requests it served is its
//   CPU per request (medians);
// - instructions: each rung's workerd under valgrind's callgrind, instructions per request (every
//   thread): the same count whatever else the machine does, so rungs a few µs apart can be told apart
//   on a shared machine (scripts/bench/callgrind.ts).
//   node --import tsx scripts/bench/ladder.ts [requests=4000] [runs=3] [cpu|instructions] [rungs, e.g. 10,11]
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { MiniflareOptions, WorkerOptions } from "miniflare";
import { parseManifest } from "../../shared/manifest/parse.ts";
import { topologyOf } from "../../shared/manifest/topology.ts";
import { compileSnapshot } from "../../shared/snapshot/compile.ts";
import { BOOTSTRAP_MODULE, bundleEdge, bundleWorker, INLINE_MODULE } from "../lib/bundle.ts";
import { REPO_ROOT } from "../lib/paths.ts";
import { instructionsPerRequest, sequential, startWorkerd } from "./callgrind.ts";
import { cpuSecondsOfPid } from "./cpu.ts";
import { newSigningKey, publicKeys } from "../lib/beacon-keys.ts";
import type { SigningJwk } from "../../shared/snapshot/signature.ts";
import { median, percentile } from "./load.ts";

export const RUNGS = [
  "bare pass-through",
  "observing floor (await, count status, stamp a copy, AbortSignal.timeout)",
  "+ edge entrypoint (WorkerEntrypoint, RPC forwarding) and snapshot source",
  "+ exchange (who calls, trace context, request id, deadline, host)",
  "+ telemetry stage (recorder, flusher, the abort listener)",
  "+ respond (stamped response copy)",
  "+ errors, normalize",
  "+ authn, authz",
  "+ route (and its deadline)",
  "+ filters, fault, ratelimit, outlier, split, backendFilters, mirror, concurrency",
  "+ forward, upstream (try loop, timer, the next hop's headers): the whole pipeline",
  "the edge Worker itself (workers/edge/index.ts)",
] as const;

export type LadderRow = { rung: string; cpuUsPerReq: number; p50Us: number; runs: number[] };
export type InstructionRow = { rung: string; instructionsPerReq: number };

const FLAGS = ["nodejs_compat", "enable_request_signal"];
const DATE = "2025-04-01";
const EDGE = "app-edge";

/** The service edge's snapshot of a one-service mesh with no route (the bench's service edge). */
function snapshotText(): string {
  const topology = topologyOf(
    parseManifest("name: bench\nservices:\n  - name: app\n    versions: [{ name: v1, echo: true }]\n"),
  );
  return JSON.stringify(compileSnapshot(topology, EDGE, [], 1));
}

type Scripts = { ladder: string; app: string; front: string; edge: string; dir: string; key: SigningJwk };

export async function build(): Promise<Scripts> {
  const dir = mkdtempSync(join(tmpdir(), "isomesh-ladder-"));
  const [ladder, app, front] = await Promise.all([
    bundleWorker(resolve(REPO_ROOT, "scripts/bench/workers/ladder.ts"), undefined, dir),
    bundleWorker(resolve(REPO_ROOT, "scripts/bench/workers/app.ts"), undefined, dir),
    bundleWorker(resolve(REPO_ROOT, "scripts/bench/workers/gateway-front.ts"), undefined, dir),
  ]);
  return { dir, ladder, app, front, edge: bundleEdge(join(dir, "edge")).entry, key: await newSigningKey() };
}

/**
 * The Miniflare of one rung: the hop (a ladder rung, or the edge Worker itself) where a service edge
 * runs, behind what the gateway sends it (scripts/bench/workers/gateway-front.ts), the app, a
 * control-plane stub. The snapshot is re-checked once an hour here, so what the ladder counts is each
 * request's own work: an isolate's once-a-second beacon check and telemetry flush are measured apart.
 */
export function rungOptions(index: number, s: Scripts): MiniflareOptions {
  const snapshot = snapshotText();
  const worker = (name: string, scriptPath: string, extra: Partial<WorkerOptions> = {}) =>
    ({
      name,
      modules: true,
      modulesRoot: s.dir,
      scriptPath,
      compatibilityDate: DATE,
      compatibilityFlags: FLAGS,
      ...extra,
    }) as WorkerOptions;
  const hopBindings = {
    bindings: {
      EDGE_NAME: EDGE,
      MESH_NAME: "bench",
      // The control stub signs its beacon with `key`: each check verifies it, as in production.
      BEACON_KEYS: JSON.stringify(publicKeys({ keys: [s.key] })),
      TRACE_SAMPLING: "0.01",
      ACCESS_LOG: "off",
      REFRESH_INTERVAL_MS: "3600000",
      MAX_STALE_MS: "3600000",
    },
    kvNamespaces: { SNAPSHOTS: "snapshots" },
    serviceBindings: { APP: "app", VERSION_V1: "app", CONTROL: { name: "control", entrypoint: "Control" } },
  };
  const edgeItself = index === RUNGS.length - 1;
  // Rungs 0 and 1 are a plain entrypoint class; from rung 2 on, one that forwards Workers RPC, as the edge's.
  const entrypoint = !edgeItself && index >= 2 ? "LadderRpc" : undefined;
  const hop = edgeItself
    ? ({
        name: "hop",
        modules: [
          { type: "ESModule", path: s.edge, contents: readFileSync(s.edge) },
          { type: "Text", path: join(s.dir, "edge", BOOTSTRAP_MODULE), contents: snapshot },
          { type: "Text", path: join(s.dir, "edge", INLINE_MODULE), contents: "[]" },
        ],
        modulesRoot: join(s.dir, "edge"),
        compatibilityDate: DATE,
        compatibilityFlags: FLAGS,
        ...hopBindings,
      } as WorkerOptions)
    : worker("hop", s.ladder, {
        ...hopBindings,
        bindings: { ...hopBindings.bindings, RUNG: String(index), SNAPSHOT: snapshot },
      });
  const front = worker("front", s.front, {
    serviceBindings: { HOP: { name: "hop", entrypoint, props: { caller: "gateway" } } },
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
  });
  return {
    cf: false,
    workers: [
      front,
      hop,
      worker("app", s.app),
      worker("control", s.ladder, {
        bindings: { RUNG: "0", SNAPSHOT: "", BEACON_SIGNING_KEY: JSON.stringify(s.key) },
      }),
    ],
  };
}

/** Runs the ladder in CPU time: every rung `runs` times, interleaved, `requests` sequential requests each; medians. */
export async function hopLadder(opts: {
  requests: number;
  runs: number;
  log: (s: string) => void;
}): Promise<LadderRow[]> {
  const s = await build();
  const rungs: { mf: Awaited<ReturnType<typeof startWorkerd>>["mf"]; pid: number; url: string }[] = [];
  for (let i = 0; i < RUNGS.length; i++) {
    const { mf, pid } = await startWorkerd(rungOptions(i, s));
    rungs.push({ mf, pid, url: `${(await mf.unsafeGetDirectURL("front")).origin}/app` });
  }
  const cpu = rungs.map(() => [] as number[]);
  const p50 = rungs.map(() => [] as number[]);
  try {
    for (const r of rungs) await sequential(r.url, Math.min(1000, opts.requests)); // warm up
    for (let run = 0; run < opts.runs; run++)
      for (const [i, r] of rungs.entries()) {
        const c0 = cpuSecondsOfPid(r.pid);
        const lat = await sequential(r.url, opts.requests);
        cpu[i].push(((cpuSecondsOfPid(r.pid) - c0) * 1e6) / opts.requests);
        p50[i].push(
          percentile(
            lat.sort((a, b) => a - b),
            0.5,
          ),
        );
      }
  } finally {
    await Promise.all(rungs.map((r) => r.mf.dispose()));
  }
  const rows = RUNGS.map((rung, i) => ({
    rung,
    cpuUsPerReq: median(cpu[i]),
    p50Us: median(p50[i]),
    runs: cpu[i].map(Math.round),
  }));
  for (const r of rows)
    opts.log(
      `  ${String(Math.round(r.cpuUsPerReq)).padStart(5)} µs CPU  ${String(Math.round(r.p50Us)).padStart(5)} µs p50  ${r.rung}  (runs: ${r.runs.join(", ")})`,
    );
  return rows;
}

/**
 * The ladder in instructions: each rung alone, its workerd under callgrind, `runs` times (the
 * median; a run's count still moves by a few percent with the isolate's JIT and GC, so A/B
 * comparisons take several). `only`: the rungs to count (indexes into RUNGS), all by default.
 */
export async function instructionLadder(opts: {
  requests: number;
  runs?: number;
  only?: number[];
  log: (s: string) => void;
}): Promise<InstructionRow[]> {
  const s = await build();
  const rows: InstructionRow[] = [];
  for (let i = 0; i < RUNGS.length; i++) {
    if (opts.only && !opts.only.includes(i)) continue;
    const counts: number[] = [];
    for (let run = 0; run < (opts.runs ?? 1); run++)
      counts.push(
        await instructionsPerRequest(
          rungOptions(i, s),
          async (mf) => `${(await mf.unsafeGetDirectURL("front")).origin}/app`,
          { requests: opts.requests, dir: s.dir },
        ),
      );
    const n = median(counts);
    rows.push({ rung: RUNGS[i], instructionsPerReq: n });
    const each = counts.length > 1 ? `  (runs: ${counts.map((c) => (c / 1000).toFixed(1)).join(", ")})` : "";
    opts.log(`  ${(n / 1000).toFixed(1).padStart(7)} k instructions  ${RUNGS[i]}${each}`);
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [requests = "4000", runs = "3", mode = "cpu", rungs] = process.argv.slice(2);
  if (mode === "instructions")
    await instructionLadder({
      requests: Number(requests),
      runs: Number(runs),
      only: rungs?.split(",").map(Number),
      log: console.log,
    });
  else await hopLadder({ requests: Number(requests), runs: Number(runs), log: console.log });
  process.exit(0);
}
