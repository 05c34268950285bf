import { type ChildProcess, spawn } from "node:child_process";
import { freePortPair } from "./http.ts";

export type DevProcess = { port: number; adminPort: number; token: string; output: () => string; stop(signal?: NodeJS.Signals): Promise<number | null>; proc: ChildProcess };

/** Spawns `isomesh dev` the way a user does, and waits until it prints that it is ready. */
export async function startDev(args: { manifest: string; state: string; token?: string; extra?: string[] }): Promise<DevProcess> {
  const port = await freePortPair();
  const token = args.token ?? "e2e-token-0123456789abcdef";
  const proc = spawn(process.execPath, ["scripts/isomesh.mjs", "dev", "--manifest", args.manifest, "--port", String(port), "--state", args.state, "--admin-token", token, ...(args.extra ?? [])], {
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`isomesh dev did not start in 90 s:\n${out}`)), 90_000);
    const check = setInterval(() => {
      if (out.includes("dashboard")) {
        clearInterval(check);
        clearTimeout(timer);
        resolve();
      }
    }, 50);
    void exited.then((code) => {
      clearInterval(check);
      clearTimeout(timer);
      reject(new Error(`isomesh dev exited with ${code}:\n${out}`));
    });
  });
  return {
    port,
    adminPort: port + 1,
    token,
    proc,
    output: () => out,
    async stop(signal = "SIGINT") {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill(signal);
      return exited;
    },
  };
}
