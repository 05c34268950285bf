import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { TEST_DATA_PLANE } from "./data-plane.ts";

export type DevProcess = {
  port: number;
  adminPort: number;
  gatewayUrl: string;
  adminUrl: string;
  token: string;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  proc: ChildProcess;
};

/**
 * Spawns `isomesh dev` the way a user does, on ports workerd picks (`--port 0`: nothing probed, so
 * nothing to race), and waits until it prints that it is ready; the URLs are read from that output.
 */
export async function startDev(args: {
  manifest: string;
  /** Default: none given (`isomesh dev` picks `.isomesh/<mesh name>` under `cwd`). */
  state?: string;
  token?: string;
  extra?: string[];
  cwd?: string;
}): Promise<DevProcess> {
  const token = args.token ?? "e2e-token-0123456789abcdef";
  const proc = spawn(
    process.execPath,
    [
      resolve("scripts/isomesh.mjs"),
      "dev",
      "--manifest",
      args.manifest,
      "--port",
      "0",
      ...(args.state !== undefined ? ["--state", args.state] : []),
      "--admin-token",
      token,
      ...(TEST_DATA_PLANE && !args.extra?.includes("--data-plane") ? ["--data-plane", TEST_DATA_PLANE] : []),
      ...(args.extra ?? []),
    ],
    {
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
      cwd: args.cwd,
    },
  );
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
  const url = (label: string) => new RegExp(`${label}\\s+(http://\\S+)`).exec(out)?.[1] ?? "";
  const gatewayUrl = url("gateway");
  const adminUrl = url("admin API");
  return {
    port: Number(new URL(gatewayUrl).port),
    adminPort: Number(new URL(adminUrl).port),
    gatewayUrl,
    adminUrl,
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
