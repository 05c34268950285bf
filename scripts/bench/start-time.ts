// Time from `isomesh dev` being spawned to the first 200 through the gateway, as a user sees it.
// node --import tsx scripts/bench/start-time.ts [manifest] [path] [runs]
// Each run starts on a fresh state folder (cold: nothing bundled yet), then once more on the same
// state (warm: what a developer's second `npm start` costs).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "node:http";

const [manifest = "examples/bookinfo/mesh.yaml", path = "/productpage", runs = "3"] = process.argv.slice(2);

function get(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", () => resolve(0));
    req.end();
  });
}

/** Spawns `isomesh dev` and polls `path` until it answers 200; returns the elapsed ms. */
async function timeToFirst200(state: string): Promise<number> {
  const started = performance.now();
  const proc = spawn(
    process.execPath,
    ["scripts/isomesh.mjs", "dev", "-m", manifest, "--port", "0", "--state", state, "--access-log", "off"],
    {
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => proc.on("exit", () => resolve()));
  try {
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`isomesh dev exited:\n${out}`);
      const gateway = /gateway\s+(http:\/\/\S+)/.exec(out)?.[1];
      if (gateway && (await get(gateway + path)) === 200) return performance.now() - started;
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    proc.kill("SIGINT");
    await exited;
  }
}

const cold: number[] = [];
const warm: number[] = [];
for (let i = 0; i < Number(runs); i++) {
  const dir = mkdtempSync(join(tmpdir(), "isomesh-start-"));
  try {
    cold.push(await timeToFirst200(dir));
    warm.push(await timeToFirst200(dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (xs: number[]) => `${Math.round(median(xs))} ms (best ${Math.round(Math.min(...xs))})`;
console.log(
  `${manifest} ${path}: first 200 after ${ms(cold)} cold, ${ms(warm)} warm (median of ${runs}; cold ${cold.map(Math.round).join(", ")}; warm ${warm.map(Math.round).join(", ")})`,
);
