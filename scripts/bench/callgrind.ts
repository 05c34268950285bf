// Instructions per request in workerd, counted by valgrind's callgrind: a count that does not
// depend on what else the machine does (CPU time moves by ±20–30 µs per rung on a shared machine),
// though runs of the same code still differ by up to about 5% (the isolate's JIT and garbage
// collection), so A/B comparisons take the median of several runs. Used by the ladder and the
// primitives table (scripts/bench/ladder.ts, primitives.ts).
import { execFileSync } from "node:child_process";
import { chmodSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { join, resolve } from "node:path";
import { Miniflare, type MiniflareOptions } from "miniflare";
import { REPO_ROOT } from "../lib/paths.ts";
import { descendants } from "./process-tree.ts";

/** Whether valgrind (callgrind) can run here. */
export function hasValgrind(): boolean {
  try {
    execFileSync("valgrind", ["--version"], { stdio: "ignore" });
    execFileSync("callgrind_control", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const comm = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
};
/** The workerd processes below this one (under callgrind its command name is valgrind's tool). */
export const workerdPids = () => new Set(descendants(process.pid).filter((p) => /^(workerd|callgrind)/.test(comm(p))));

/** Starts a Miniflare and finds the workerd process it started (for /proc CPU or callgrind_control). */
export async function startWorkerd(options: MiniflareOptions): Promise<{ mf: Miniflare; pid: number }> {
  const before = workerdPids();
  const mf = new Miniflare(options);
  await mf.ready;
  const pid = [...workerdPids()].find((p) => !before.has(p));
  if (!pid) throw new Error("could not find the workerd process Miniflare started");
  return { mf, pid };
}

/**
 * `n` requests one after the other on one keep-alive connection; their latencies in µs. A request
 * whose connection the server closed first (workerd under valgrind does, now and then) is sent again
 * on a new one.
 */
export async function sequential(url: string, n: number, headers: Record<string, string> = {}): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const lat: number[] = [];
  const once = () =>
    new Promise<void>((done, fail) => {
      const t0 = performance.now();
      request(url, { agent, headers: { "user-agent": "bench", accept: "*/*", ...headers } }, (res) => {
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
  try {
    for (let i = 0; i < n; i++)
      await once().catch((e: NodeJS.ErrnoException) => (e.code === "ECONNRESET" ? once() : Promise.reject(e)));
  } finally {
    agent.destroy();
  }
  return lat;
}

/**
 * Instructions workerd executes per request to `url` (every thread: the isolate, the event loop,
 * V8's GC helpers). workerd starts under callgrind with instrumentation off (fast), serves
 * `warmup` requests so the JIT and caches settle, then `requests` are counted.
 */
export async function instructionsPerRequest(
  options: MiniflareOptions,
  urlOf: (mf: Miniflare) => Promise<string>,
  o: { requests: number; warmup?: number; dir: string; headers?: Record<string, string> },
): Promise<number> {
  const wrapper = join(o.dir, "workerd-callgrind.sh");
  const workerd = resolve(REPO_ROOT, "node_modules/workerd/bin/workerd");
  writeFileSync(
    wrapper,
    `#!/bin/sh\nexec valgrind --tool=callgrind --smc-check=all-non-file --instr-atstart=no --callgrind-out-file=${o.dir}/callgrind.%p.out ${workerd} "$@"\n`,
  );
  chmodSync(wrapper, 0o755);
  const previous = process.env.MINIFLARE_WORKERD_PATH;
  process.env.MINIFLARE_WORKERD_PATH = wrapper;
  try {
    const { mf, pid } = await startWorkerd(options);
    try {
      const url = await urlOf(mf);
      await sequential(url, o.warmup ?? 2000, o.headers);
      execFileSync("callgrind_control", ["-i", "on", String(pid)], { stdio: "ignore" });
      await sequential(url, 50, o.headers); // code instrumented from here on is translated once
      execFileSync("callgrind_control", ["-z", String(pid)], { stdio: "ignore" });
      await sequential(url, o.requests, o.headers);
      execFileSync("callgrind_control", ["-d", String(pid)], { stdio: "ignore" });
      const total = readdirSync(o.dir)
        .filter((f) => f.startsWith(`callgrind.${pid}.out.`))
        .map((f) => Number(/^summary: (\d+)/m.exec(readFileSync(join(o.dir, f), "utf8"))?.[1] ?? 0))
        .reduce((a, b) => Math.max(a, b), 0);
      if (!total) throw new Error("callgrind wrote no count");
      return total / o.requests;
    } finally {
      await mf.dispose();
    }
  } finally {
    if (previous === undefined) delete process.env.MINIFLARE_WORKERD_PATH;
    else process.env.MINIFLARE_WORKERD_PATH = previous;
  }
}
