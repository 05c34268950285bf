// Where a hop's CPU goes: the ladder. Each rung is a pass-through with one more part of the edge than
// the rung below (scripts/bench/workers/ladder.ts), in its own workerd process; one client sends
// sequential keep-alive requests to each rung in turn, `runs` times, and the workerd process's own
// CPU time (user + system, /proc) over the requests it served is the rung's CPU per request.
// With `instructions`, each rung's workerd runs under valgrind's callgrind instead, and the rung's figure is
// the instructions workerd executed per request (every thread): the same count whatever else the machine
// does, so rungs a few µs apart can be told apart on a shared machine.
//   node --import tsx scripts/bench/ladder.ts [requests=4000] [runs=3] [cpu|instructions]
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Miniflare, type WorkerOptions } from "miniflare";
import { parseManifest } from "../../shared/manifest/parse.ts";
import { topologyOf } from "../../shared/manifest/topology.ts";
import { compileSnapshot } from "../../shared/snapshot/compile.ts";
import { BOOTSTRAP_MODULE, bundleEdge, bundleWorker, INLINE_MODULE } from "../lib/bundle.ts";
import { REPO_ROOT } from "../lib/paths.ts";
import { descendants } from "./process-tree.ts";
import { median, percentile } from "./load.ts";

export const RUNGS = [
  "bare pass-through",
  "observing floor (await, count status, stamp a copy, AbortSignal.timeout)",
  "+ edge entrypoint (WorkerEntrypoint, RPC proxy) and snapshot source",
  "+ exchange (headers, URL, trace, facts)",
  "+ telemetry stage (recorder, flusher)",
  "+ respond (stamped response copy)",
  "+ errors, normalize",
  "+ authn, authz",
  "+ route (and its deadline)",
  "+ filters, fault, ratelimit, outlier, split, backendFilters, mirror, concurrency",
  "+ forward, upstream (try loop, timers, headers): the whole pipeline",
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

const workerdPids = () =>
  new Set(descendants(process.pid).filter((p) => /^(workerd|callgrind)/.test(readFileSync(`/proc/${p}/comm`, "utf8"))));

function cpuSecondsOfPid(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** `n` requests one after the other on one keep-alive connection; their latencies in µs. */
async function sequential(url: string, n: number): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const lat: number[] = [];
  for (let i = 0; i < n; i++)
    await new Promise<void>((done, fail) => {
      const t0 = performance.now();
      request(url, { agent, headers: { "user-agent": "ladder", accept: "*/*" } }, (res) => {
        res.resume();
        res.on("end", () => {
          if (res.statusCode !== 200) fail(new Error(`${url}: ${res.statusCode}`));
          lat.push((performance.now() - t0) * 1000);
          done();
        });
      })
        .on("error", fail)
        .end();
    });
  agent.destroy();
  return lat;
}

type Rung = { name: string; mf: Miniflare; pid: number; url: string };

type Scripts = { ladder: string; app: string; edge: string };

async function startRung(index: number, dir: string, scripts: Scripts): Promise<Rung> {
  const snapshot = snapshotText();
  const app: WorkerOptions = {
    name: "app",
    modules: true,
    modulesRoot: dir,
    scriptPath: scripts.app,
    compatibilityDate: DATE,
    compatibilityFlags: FLAGS,
  };
  const control: WorkerOptions = {
    name: "control",
    modules: true,
    modulesRoot: dir,
    scriptPath: scripts.ladder,
    compatibilityDate: DATE,
    compatibilityFlags: FLAGS,
    bindings: { RUNG: "0", SNAPSHOT: "" },
  };
  const common = {
    compatibilityDate: DATE,
    compatibilityFlags: FLAGS,
    bindings: { EDGE_NAME: EDGE, MESH_NAME: "bench", TRACE_SAMPLING: "0.01", ACCESS_LOG: "off" },
    kvNamespaces: { SNAPSHOTS: "snapshots" },
    serviceBindings: {
      APP: "app",
      VERSION_V1: "app",
      CONTROL: { name: "control", entrypoint: "Control" },
    },
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
  };
  const last = index === RUNGS.length - 1;
  const hop: WorkerOptions = last
    ? {
        name: "hop",
        modules: [
          { type: "ESModule", path: scripts.edge },
          { type: "Text", path: join(dir, "edge", BOOTSTRAP_MODULE), contents: snapshot },
          { type: "Text", path: join(dir, "edge", INLINE_MODULE), contents: "[]" },
        ],
        modulesRoot: join(dir, "edge"),
        ...common,
      }
    : {
        name: "hop",
        modules: true,
        modulesRoot: dir,
        scriptPath: scripts.ladder,
        ...common,
        bindings: { ...common.bindings, RUNG: String(index), SNAPSHOT: snapshot },
      };
  const before = workerdPids();
  const mf = new Miniflare({ cf: false, workers: [hop, app, control] });
  await mf.ready;
  const pid = [...workerdPids()].find((p) => !before.has(p));
  if (!pid) throw new Error("ladder: could not find the rung's workerd process");
  const url = `${(await mf.unsafeGetDirectURL("hop")).origin}/app`;
  return { name: RUNGS[index], mf, pid, url };
}

async function build(): Promise<{ dir: string; scripts: Scripts }> {
  const dir = mkdtempSync(join(tmpdir(), "isomesh-ladder-"));
  const [ladder, app] = await Promise.all([
    bundleWorker(resolve(REPO_ROOT, "scripts/bench/workers/ladder.ts"), undefined, dir),
    bundleWorker(resolve(REPO_ROOT, "scripts/bench/workers/app.ts"), undefined, dir),
  ]);
  const edge = bundleEdge(join(dir, "edge")).entry;
  return { dir, scripts: { ladder, app, edge } };
}

/** Runs the ladder: every rung `runs` times, interleaved, `requests` sequential requests each; medians. */
export async function hopLadder(opts: {
  requests: number;
  runs: number;
  log: (s: string) => void;
}): Promise<LadderRow[]> {
  const { dir, scripts } = await build();
  const { ladder, app, edge } = scripts;
  const rungs: Rung[] = [];
  for (let i = 0; i < RUNGS.length; i++) rungs.push(await startRung(i, dir, { ladder, app, edge }));
  const cpu = rungs.map(() => [] as number[]);
  const p50 = rungs.map(() => [] as number[]);
  for (const r of rungs) await sequential(r.url, Math.min(500, opts.requests)); // warm up
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
  await Promise.all(rungs.map((r) => r.mf.dispose()));
  const rows = rungs.map((r, i) => ({
    rung: r.name,
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

/** Whether valgrind (callgrind) can run here: the instruction ladder needs it. */
export function hasValgrind(): boolean {
  try {
    execFileSync("valgrind", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * The ladder in instructions: each rung alone, its workerd under callgrind (instrumented only for
 * the measured requests: started with instrumentation off, switched on after a warm-up, counters
 * zeroed, `requests` sequential requests, dumped). Deterministic to about 0.1% run to run.
 */
export async function instructionLadder(opts: {
  requests: number;
  log: (s: string) => void;
}): Promise<InstructionRow[]> {
  const { dir, scripts } = await build();
  const workerd = resolve(REPO_ROOT, "node_modules/workerd/bin/workerd");
  const wrapper = join(dir, "workerd-callgrind.sh");
  writeFileSync(
    wrapper,
    `#!/bin/sh\nexec valgrind --tool=callgrind --smc-check=all-non-file --instr-atstart=no --callgrind-out-file=${dir}/callgrind.%p.out ${workerd} "$@"\n`,
  );
  chmodSync(wrapper, 0o755);
  const previous = process.env.MINIFLARE_WORKERD_PATH;
  process.env.MINIFLARE_WORKERD_PATH = wrapper;
  const rows: InstructionRow[] = [];
  try {
    for (let i = 0; i < RUNGS.length; i++) {
      const r = await startRung(i, dir, scripts);
      await sequential(r.url, 200); // JIT and caches warm, uninstrumented (fast)
      execFileSync("callgrind_control", ["-i", "on", String(r.pid)], { stdio: "ignore" });
      await sequential(r.url, 50);
      execFileSync("callgrind_control", ["-z", String(r.pid)], { stdio: "ignore" });
      await sequential(r.url, opts.requests);
      execFileSync("callgrind_control", ["-d", String(r.pid)], { stdio: "ignore" });
      const dumps = readdirSync(dir).filter((f) => f.startsWith(`callgrind.${r.pid}.out.`));
      const total = dumps
        .map((f) => Number(/^summary: (\d+)/m.exec(readFileSync(join(dir, f), "utf8"))?.[1] ?? NaN))
        .reduce((a, b) => Math.max(a, b), 0);
      await r.mf.dispose();
      rows.push({ rung: r.name, instructionsPerReq: total / opts.requests });
      opts.log(`  ${String(Math.round(total / opts.requests / 1000)).padStart(6)} k instructions  ${r.name}`);
    }
  } finally {
    if (previous === undefined) delete process.env.MINIFLARE_WORKERD_PATH;
    else process.env.MINIFLARE_WORKERD_PATH = previous;
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [requests = "4000", runs = "3", mode = "cpu"] = process.argv.slice(2);
  if (mode === "instructions") await instructionLadder({ requests: Number(requests), log: console.log });
  else await hopLadder({ requests: Number(requests), runs: Number(runs), log: console.log });
  process.exit(0);
}
