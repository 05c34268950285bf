// What a new user sees: a fresh clone, `npm ci`, then the first `npm start` (nothing built, no
// state), timed from the spawn to "isomesh ready" and to the first 200 of /productpage. One run,
// not the best of several: the first start is the one a new user meets.
// node --import tsx scripts/bench/first-start.ts
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "node:http";

const status = (url: string) =>
  new Promise<number>((resolve) => {
    const req = request(url, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", () => resolve(0));
    req.end();
  });

const dir = mkdtempSync(join(tmpdir(), "isomesh-first-start-"));
try {
  execFileSync("git", ["clone", "--quiet", process.cwd(), dir]);
  const installing = performance.now();
  execFileSync("npm", ["ci", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: dir, stdio: "ignore" });
  const installMs = performance.now() - installing;
  const load = loadavg()[0];
  const started = performance.now();
  // `npm start` as the README says, on ports the OS picks (8787 may be taken on a shared machine).
  const proc = spawn("npm", ["start", "--", "--port", "0"], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "inherit"],
    detached: true,
  });
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  let readyMs: number | undefined;
  let firstMs: number | undefined;
  try {
    while (firstMs === undefined) {
      if (proc.exitCode !== null) throw new Error(`npm start exited:\n${out}`);
      if (performance.now() - started > 600_000) throw new Error(`no 200 in 10 minutes:\n${out}`);
      const gateway = /gateway\s+(http:\/\/\S+)/.exec(out)?.[1];
      if (gateway) {
        readyMs ??= performance.now() - started;
        if ((await status(gateway + "/productpage")) === 200) firstMs = performance.now() - started;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    process.kill(-proc.pid!, "SIGINT"); // npm and the isomesh dev it started
  }
  const printed = /isomesh ready in (\d+) ms/.exec(out)?.[1];
  console.log(
    `fresh clone, first npm start: "isomesh ready in ${printed} ms" printed, ready seen after ${Math.round(readyMs!)} ms, first 200 of /productpage after ${Math.round(firstMs)} ms (npm ci took ${Math.round(installMs / 1000)} s; load average ${load.toFixed(1)} on ${availableParallelism()} cores)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
