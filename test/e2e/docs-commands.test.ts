import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_DATA_PLANE } from "../helpers/data-plane.ts";
import { SCENARIOS, type Step } from "../helpers/docs-plan.ts";
import { removeTempDirs, tempDir } from "../helpers/temp-dir.ts";

// The README's and the guides' commands, run as a reader runs them, in the order they come, from
// a fresh state: the mesh started the way the guide starts it (plus `--port 0 --state <folder>`),
// every other command through bash with ISOMESH_ADMIN and ISOMESH_TOKEN set from what the start
// printed, and the printed URLs where the guide has 127.0.0.1:8787 and :8788. Which commands, and
// why some are not run: test/helpers/docs-plan.ts (test/unit/docs-commands.test.ts keeps it
// complete).

afterAll(removeTempDirs);

const TOKEN = "docs-token-0123456789abcdef";

/** A process group started by the test (the mesh, a background loop), stopped with it whole. */
function group(command: string, args: string[], env: NodeJS.ProcessEnv) {
  const proc = spawn(command, args, { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => proc.on("exit", () => resolve()));
  return {
    proc,
    output: () => out,
    exited,
    // SIGINT first (isomesh dev shuts down cleanly on it). A bash loop may outlive it: bash goes on
    // when its foreground child (curl) exits by itself on SIGINT rather than dying of it, so the
    // group is killed if it is still there after 10 s.
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const signal = (s: NodeJS.Signals) => {
          try {
            process.kill(-proc.pid!, s);
          } catch {}
        };
        signal("SIGINT");
        const late = setTimeout(() => signal("SIGKILL"), 10_000);
        await exited;
        clearTimeout(late);
      }
    },
  };
}

function run(command: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const proc: ChildProcess = spawn("bash", ["-c", command], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    proc.on("exit", (code) => resolve({ code, out }));
  });
}

for (const scenario of SCENARIOS)
  describe(`the docs' commands on ${scenario.name}`, () => {
    const state = join(tempDir("isomesh-docs"), "state");
    let mesh: ReturnType<typeof group>;
    let gateway = "";
    let admin = "";
    const vars: Record<string, string> = {};
    let background: ReturnType<typeof group> | undefined;

    beforeAll(async () => {
      const [command, ...args] = scenario.start.split(" ");
      const flags = ["--port", "0", "--state", state, "--admin-token", TOKEN];
      if (TEST_DATA_PLANE) flags.push("--data-plane", TEST_DATA_PLANE);
      mesh = group(command, [...args, ...(command === "npm" ? ["--"] : []), ...flags], {
        ...process.env,
        NO_COLOR: "1",
      });
      const started = Date.now();
      while (!/dashboard\s+http/.test(mesh.output())) {
        if (mesh.proc.exitCode !== null) throw new Error(`${scenario.start} exited:\n${mesh.output()}`);
        if (Date.now() - started > 170_000) throw new Error(`${scenario.start} not ready in 170 s:\n${mesh.output()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      gateway = /gateway\s+(http:\/\/\S+)/.exec(mesh.output())![1];
      admin = /admin API\s+(http:\/\/\S+)/.exec(mesh.output())![1];
    }, 180_000);
    afterAll(async () => {
      await background?.stop();
      await mesh?.stop();
    });

    /** The command as the reader's terminal sees it: this mesh's URLs and state folder. */
    const local = (command: string) =>
      command
        .replaceAll("http://127.0.0.1:8787", gateway)
        .replaceAll("http://127.0.0.1:8788", admin)
        .replace(/--persist-to \.isomesh\/[a-z0-9-]+/g, `--persist-to ${state}`); // a mesh's default state: .isomesh/<name>

    it.each(scenario.steps.map((s) => [s.command, s] as const))(
      "%s",
      async (_c, step: Step) => {
        const env = { ...process.env, ...vars, ISOMESH_ADMIN: admin, ISOMESH_TOKEN: TOKEN, NO_COLOR: "1" };
        const command = local(step.as?.command ?? step.command);
        if (step.background) {
          background = group("bash", ["-c", command], env);
          return;
        }
        const assignment = /^([A-Z_]+)=(.*)$/.exec(command);
        const r = assignment ? await run(`${command}; printf %s "$${assignment[1]}"`, env) : await run(command, env);
        if (assignment) vars[assignment[1]] = r.out.trim().split("\n").at(-1)!;
        expect(r.code, r.out).toBe(step.code ?? 0);
        if (step.out) expect(r.out).toMatch(step.out);
        if (step.stop) await background?.stop();
      },
      120_000,
    );
  });
