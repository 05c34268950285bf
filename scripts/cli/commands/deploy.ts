import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import { deployOrder } from "../../lib/gen.ts";
import { generateWithExports } from "../../lib/app-exports.ts";
import { WRANGLER_BIN } from "../../lib/wrangler-api.ts";
import { CliError } from "../client.ts";
import { DATA_PLANE_OPTION, dataPlaneOption, MANIFEST_OPTION, manifestPath, samplingRate } from "../options.ts";
import { c } from "../output.ts";

/** Runs wrangler; returns its output, or undefined (having printed why) when it failed. */
function run(args: string[], label: string): string | undefined {
  const started = Date.now();
  process.stdout.write(`${c.cyan("→")} ${label} … `);
  const r = spawnSync(process.execPath, [WRANGLER_BIN, ...args], {
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  if (r.status !== 0) {
    console.log(c.red("failed"));
    process.stderr.write((r.stderr || r.stdout || "").split("\n").slice(-20).join("\n") + "\n");
    return undefined;
  }
  console.log(`${c.green("ok")} ${c.dim(`${Date.now() - started} ms`)}`);
  return r.stdout;
}

/** wrangler's own table of the bindings a Worker will have, from its dry-run output. */
export function bindingsTable(out: string): string {
  const lines = out.split("\n");
  const start = lines.findIndex((l) => l.includes("has access to the following bindings"));
  if (start === -1) return "  (no bindings)";
  const end = lines.findIndex((l, i) => i > start && (l.trim() === "" || l.startsWith("--dry-run")));
  return lines
    .slice(start + 1, end === -1 ? undefined : end)
    .map((l) => `  ${l}`)
    .join("\n");
}

export function registerDeploy(program: Command) {
  program
    .command("deploy")
    .description("wrangler deploy every generated worker in dependency order (--dry-run builds without uploading)")
    .option(...MANIFEST_OPTION)
    .option("--out <dir>", "generated configs folder", ".isomesh/gen")
    .option("--kv-id <id>", "KV namespace id for snapshots")
    .option(
      "--trace-sampling <rate>",
      "share of new traces recorded as spans, 0..1 (Istio's default profile: 0.01)",
      "1",
    )
    .option("--dry-run", "build every worker without uploading")
    .option(...DATA_PLANE_OPTION)
    .action(
      async (o: {
        manifest?: string;
        out: string;
        kvId?: string;
        dryRun?: boolean;
        traceSampling: string;
        dataPlane?: string;
      }) => {
        // The apps' exports (for Workers RPC) are read from their builds, as `isomesh gen` does.
        const warn = (line: string) => console.log(c.dim(`note: ${line}`));
        const mesh = await generateWithExports(
          manifestPath(o.manifest),
          {
            outDir: o.out,
            kvId: o.kvId,
            traceSampling: samplingRate(o.traceSampling),
            dataPlane: dataPlaneOption(o.dataPlane),
          },
          join(o.out, "..", "build"),
          warn,
        );
        for (const note of mesh.notes) console.log(c.dim(`note: ${note}`));
        const order = deployOrder(mesh.workers);
        const failed: string[] = [];
        if (!o.dryRun) {
          // Control and edges bind each other: first the control plane without its edge bindings.
          const control = order.find((w) => w.role === "control")!;
          const phase0 = join(dirname(control.configPath), "wrangler.phase0.json");
          writeFileSync(phase0, JSON.stringify({ ...control.config, services: [] }, null, 2));
          if (run(["deploy", "-c", phase0], `${control.config.name} (without edge bindings)`) === undefined)
            throw new CliError("deploy failed at the control plane");
        }
        for (const w of order) {
          const args = ["deploy", "-c", w.configPath];
          if (o.dryRun) args.push("--dry-run", "--outdir", resolve(o.out, "..", "dist", w.config.name));
          const out = run(args, `${w.config.name} ${c.dim(`(${w.role})`)}`);
          if (out === undefined) failed.push(w.config.name);
          else if (o.dryRun) console.log(bindingsTable(out));
        }
        if (failed.length)
          throw new CliError(`${failed.length} of ${order.length} workers failed: ${failed.join(", ")}`);
        console.log(c.green(`${o.dryRun ? "built" : "deployed"} ${order.length} workers`));
      },
    );
}
