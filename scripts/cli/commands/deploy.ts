import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import { deployOrder, generate } from "../../lib/gen.ts";
import { REPO_ROOT } from "../../lib/paths.ts";
import { CliError } from "../client.ts";
import { MANIFEST_OPTION, manifestPath, samplingRate } from "../options.ts";
import { c } from "../output.ts";

const wrangler = join(REPO_ROOT, "node_modules/.bin/wrangler");

function run(args: string[], label: string) {
  const started = Date.now();
  process.stdout.write(`${c.cyan("→")} ${label} … `);
  const r = spawnSync(wrangler, args, { encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
  if (r.status !== 0) {
    console.log(c.red("failed"));
    process.stderr.write((r.stderr || r.stdout || "").split("\n").slice(-20).join("\n") + "\n");
    return false;
  }
  console.log(`${c.green("ok")} ${c.dim(`${Date.now() - started} ms`)}`);
  return true;
}

export function registerDeploy(program: Command) {
  program
    .command("deploy")
    .description("wrangler deploy every generated worker in dependency order (--dry-run builds without uploading)")
    .option(...MANIFEST_OPTION)
    .option("--out <dir>", "generated configs folder", ".isomesh/gen")
    .option("--kv-id <id>", "KV namespace id for snapshots")
    .option("--trace-sampling <rate>", "share of new traces recorded as spans, 0..1 (Istio's default profile: 0.01)", "1")
    .option("--dry-run", "build every worker without uploading")
    .action((o: { manifest?: string; out: string; kvId?: string; dryRun?: boolean; traceSampling: string }) => {
      const mesh = generate(manifestPath(o.manifest), { outDir: o.out, kvId: o.kvId, traceSampling: samplingRate(o.traceSampling) });
      const order = deployOrder(mesh.workers);
      const failed: string[] = [];
      if (!o.dryRun) {
        // Control and edges bind each other: first the control plane without its edge bindings.
        const control = order.find((w) => w.role === "control")!;
        const phase0 = join(dirname(control.configPath), "wrangler.phase0.json");
        writeFileSync(phase0, JSON.stringify({ ...control.config, services: [] }, null, 2));
        if (!run(["deploy", "-c", phase0], `${control.config.name} (without edge bindings)`)) throw new CliError("deploy failed at the control plane");
      }
      for (const w of order) {
        const args = ["deploy", "-c", w.configPath];
        if (o.dryRun) args.push("--dry-run", "--outdir", resolve(o.out, "..", "dist", w.config.name));
        if (!run(args, `${w.config.name} ${c.dim(`(${w.role})`)}`)) failed.push(w.config.name);
      }
      if (failed.length) throw new CliError(`${failed.length} of ${order.length} workers failed: ${failed.join(", ")}`);
      console.log(c.green(`${o.dryRun ? "built" : "deployed"} ${order.length} workers`));
    });
}
