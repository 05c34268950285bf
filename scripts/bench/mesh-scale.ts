import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Miniflare } from "miniflare";
import { bundleWorker } from "../lib/bundle.ts";
import { REPO_ROOT, WORKER_ENTRY } from "../lib/paths.ts";
import { startMesh } from "../lib/runtime.ts";
import { rssBelow } from "./process-tree.ts";

// How `isomesh dev` grows with the mesh: a manifest of N services (two echo versions each, each
// calling the next) started cold (fresh state: everything bundled) and warm (a restart on the same
// state), beside a bare Miniflare starting as many trivial workers. Both are timed from spawning the
// process to its ready line, so both pay Node's own start; RSS is workerd's, read from /proc.

export type MeshScaleRow = {
  services: number;
  workers: number;
  /** Starts of each kind (medians shown). */
  reps: number;
  cold: { readyMs: number; rssBytes: number };
  warm: { readyMs: number; rssBytes: number };
  /** workerd's RSS once every edge has answered a request (each isolate has built its pipeline). */
  servingRssBytes: number;
  bare: { readyMs: number; rssBytes: number };
  /** A warm start in this process, by phase (startMesh's timings), and a bare Miniflare's workerd start in this process. */
  phases: { generateMs: number; workersMs: number; workerdMs: number; bareWorkerdMs: number };
};

const TOKEN = "scale-bench-token-0123456789";

type Started = { readyMs: number; rssBytes: number; out: string; stop: () => Promise<void>; pid: number };

/** Spawns a process and waits for a line matching `ready` on its stdout; RSS is that of its workerd. */
async function startUntil(args: string[], ready: RegExp, timeoutMs = 600_000): Promise<Started> {
  const started = performance.now();
  // Its own process group: a stop that hangs is ended with everything it started (its workerd too).
  const proc = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  running.add(proc.pid!);
  let out = "";
  const exited = new Promise<void>((r) => proc.on("exit", () => r()));
  const stop = async () => {
    if (proc.exitCode === null) proc.kill("SIGINT");
    const killer = setTimeout(() => killGroup(proc.pid!), 20_000);
    await exited;
    clearTimeout(killer);
    killGroup(proc.pid!); // anything left behind
    running.delete(proc.pid!);
  };
  try {
    const readyMs = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`not ready after ${timeoutMs} ms:\n${out.slice(-2000)}`)),
        timeoutMs,
      );
      const onData = (d: Buffer) => {
        out += d.toString();
        if (ready.test(out)) {
          clearTimeout(timer);
          resolve(performance.now() - started);
        }
      };
      proc.stdout.on("data", onData);
      proc.stderr.on("data", (d: Buffer) => (out += d.toString()));
      proc.on("exit", (code) => reject(new Error(`exited (${code}) before ready:\n${out.slice(-2000)}`)));
    });
    return { readyMs, rssBytes: rssBelow(proc.pid!, "workerd"), out, stop, pid: proc.pid! };
  } catch (e) {
    await stop();
    throw e;
  }
}

const running = new Set<number>();
const killGroup = (pid: number) => {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {} // already gone
};
// A benchmark that fails half-way leaves no mesh running.
process.on("exit", () => running.forEach(killGroup));

function get(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host }, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

export function scaleManifest(n: number): string {
  const name = (i: number) => `s${String(i).padStart(3, "0")}`;
  const services = Array.from(
    { length: n },
    (_, i) =>
      `  - name: ${name(i)}\n    versions: [{ name: v1, echo: true }, { name: v2, echo: true }]\n    calls: [${i + 1 < n ? name(i + 1) : ""}]`,
  );
  return `name: scale\nservices:\n${services.join("\n")}\n`;
}

const dev = (manifest: string, state: string) => [
  join(REPO_ROOT, "scripts/isomesh.mjs"),
  "dev",
  "-m",
  manifest,
  "--port",
  "0",
  "--state",
  state,
  "--access-log",
  "off",
  "--admin-token",
  TOKEN,
];
const DEV_READY = /ready in \d+ ms[\s\S]*admin API\s+http/;

/** Routes every service on the gateway by host and sends one request through each of them. */
async function serveEveryService(out: string, n: number) {
  const gateway = /gateway\s+(http:\/\/\S+)/.exec(out)![1];
  const admin = /admin API\s+(http:\/\/\S+)/.exec(out)![1];
  const names = Array.from({ length: n }, (_, i) => `s${String(i).padStart(3, "0")}`);
  const routes = names.map((s) => ({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: `gw-${s}` },
    spec: { parentRefs: [{ name: "gateway" }], hostnames: [`${s}.example`], rules: [{ backendRefs: [{ name: s }] }] },
  }));
  const res = await fetch(`${admin}/v1/apply?wait=true&timeout=30s`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(routes),
  });
  if (!res.ok) throw new Error(`apply failed: ${res.status} ${await res.text()}`);
  for (const s of names) {
    const status = await get(`${gateway}/`, `${s}.example`);
    if (status !== 200) throw new Error(`${s}: gateway answered ${status}`);
  }
}

/**
 * Each size is started `reps` times, alternating with the bare Miniflare so that the machine's load
 * weighs on both alike: cold on a fresh state folder, then warm on the same one, then bare; medians.
 */
export async function meshScale(
  sizes: number[],
  log: (s: string) => void,
  reps: (services: number) => number = () => 1,
): Promise<MeshScaleRow[]> {
  const rows: MeshScaleRow[] = [];
  for (const n of sizes) {
    const dir = mkdtempSync(join(tmpdir(), "isomesh-scale-"));
    try {
      const manifest = join(dir, "mesh.yaml");
      writeFileSync(manifest, scaleManifest(n));
      const workers = 3 * n + 2; // two versions and an edge per service, the gateway, the control plane
      const runs = { cold: [] as Started[], warm: [] as Started[], bare: [] as Started[] };
      let servingRssBytes = 0;
      let state = "";
      for (let r = 0; r < reps(n); r++) {
        state = join(dir, `state-${r}`);
        const cold = await startUntil(dev(manifest, state), DEV_READY);
        try {
          if (r === 0) {
            await serveEveryService(cold.out, n);
            servingRssBytes = rssBelow(cold.pid, "workerd");
          }
        } finally {
          await cold.stop();
        }
        const warm = await startUntil(dev(manifest, state), DEV_READY);
        await warm.stop();
        const bare = await startUntil(
          ["--import", "tsx", join(REPO_ROOT, "scripts/bench/bare-miniflare.ts"), String(workers)],
          /^ready /m,
        );
        await bare.stop();
        runs.cold.push(cold);
        runs.warm.push(warm);
        runs.bare.push(bare);
        log(
          `  … ${n} services: cold ${Math.round(cold.readyMs)} ms, warm ${Math.round(warm.readyMs)} ms, bare Miniflare ${Math.round(bare.readyMs)} ms`,
        );
      }
      const phases = { ...(await warmPhases(manifest, state)), bareWorkerdMs: await bareWorkerdMs(workers) };
      const row = {
        services: n,
        workers,
        reps: reps(n),
        cold: medianOf(runs.cold),
        warm: medianOf(runs.warm),
        servingRssBytes,
        bare: medianOf(runs.bare),
        phases,
      };
      log(
        `  … ${n} services, a warm start by phase: generate ${Math.round(phases.generateMs)} ms, workers ${Math.round(phases.workersMs)} ms, workerd ${Math.round(phases.workerdMs)} ms (bare ${Math.round(phases.bareWorkerdMs)} ms)`,
      );
      log(
        `  ${n} services (${workers} workers): ready ${(row.cold.readyMs / 1000).toFixed(1)} s cold, ${(row.warm.readyMs / 1000).toFixed(1)} s warm, bare Miniflare ${(row.bare.readyMs / 1000).toFixed(1)} s; workerd ${mib(row.cold.rssBytes)} MiB (${mib(servingRssBytes)} serving), bare ${mib(row.bare.rssBytes)} MiB`,
      );
      rows.push(row);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

const middle = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const medianOf = (runs: Started[]) => ({
  readyMs: middle(runs.map((r) => r.readyMs)),
  rssBytes: middle(runs.map((r) => r.rssBytes)),
});

/** Where a warm start's time goes, from startMesh itself (the same start `isomesh dev` makes). */
async function warmPhases(manifestPath: string, stateDir: string) {
  const mesh = await startMesh({
    manifestPath,
    port: 0,
    stateDir,
    adminToken: TOKEN,
    gen: { accessLog: "off" },
    onLog: () => {},
  });
  await mesh.dispose();
  return mesh.timings;
}

const TRIVIAL = `export default { fetch() { return new Response("ok"); } };`;

/**
 * What the control plane's isolate adds to workerd's start: its bundle (the admin API's full zod
 * schemas, yaml, hono, the dashboard) alone in a workerd beside the same start with a trivial worker.
 */
export async function controlIsolateMs(reps = 5): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "isomesh-control-start-"));
  try {
    const scriptPath = await bundleWorker(WORKER_ENTRY.control, undefined, dir);
    const time = async (worker: object) => {
      const started = performance.now();
      const mf = new Miniflare({
        cf: false,
        workers: [{ name: "w", compatibilityDate: "2025-04-01", compatibilityFlags: ["nodejs_compat"], ...worker }],
      });
      await mf.ready;
      const ms = performance.now() - started;
      await mf.dispose();
      return ms;
    };
    const control: number[] = [];
    const trivial: number[] = [];
    for (let i = 0; i < reps; i++) {
      trivial.push(await time({ modules: true, script: TRIVIAL }));
      control.push(await time({ modules: [{ type: "ESModule", path: scriptPath }], modulesRoot: dirname(scriptPath) })); // listed, as isomesh dev does
    }
    return middle(control) - middle(trivial);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A bare Miniflare's workerd start (construct → ready) with `count` trivial workers, in this process. */
async function bareWorkerdMs(count: number): Promise<number> {
  const started = performance.now();
  const mf = new Miniflare({
    cf: false,
    workers: Array.from({ length: count }, (_, i) => ({
      name: `w${i}`,
      modules: true,
      script: TRIVIAL,
      compatibilityDate: "2025-04-01",
    })),
  });
  await mf.ready;
  const ms = performance.now() - started;
  await mf.dispose();
  return ms;
}

const mib = (b: number) => (b / 2 ** 20).toFixed(0);

if (import.meta.url === `file://${process.argv[1]}`) {
  const sizes = process.argv.slice(2).map(Number);
  await meshScale(sizes.length ? sizes : [30], console.log, () => Number(process.env.REPS ?? 1));
}
