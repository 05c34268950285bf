import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import { generateWithExports } from "../../lib/app-exports.ts";
import { deployPlan, withoutBindingsTo } from "../../lib/deploy-plan.ts";
import { WRANGLER_BIN } from "../../lib/wrangler-api.ts";
import { CliError } from "../client.ts";
import {
  DATA_PLANE_OPTION,
  dataPlaneOption,
  MANIFEST_OPTION,
  manifestPath,
  samplingRate,
  accessLogMode,
  TRACE_SAMPLING_OPTION,
  ACCESS_LOG_OPTION,
} from "../options.ts";
import { c } from "../output.ts";
import type { WranglerConfig } from "../../lib/wrangler-config.ts";
import { SIGNING_SECRET, signingKey } from "../../lib/beacon-keys.ts";
import { dataPlaneKeys, KEYS_OPTION } from "./keys.ts";

/** Runs wrangler (`input` on its stdin); returns its output, or undefined (having printed why) when it failed. */
function run(args: string[], label: string, input?: string): string | undefined {
  const started = Date.now();
  process.stdout.write(`${c.cyan("→")} ${label} … `);
  const r = spawnSync(process.execPath, [WRANGLER_BIN, ...args], {
    encoding: "utf8",
    input,
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

/** The props each service binding carries (the mesh's caller identity), which wrangler's table does not show. */
export function bindingProps(config: WranglerConfig): string {
  return (config.services ?? [])
    .filter((b) => b.props && Object.keys(b.props).length)
    .map(
      (b) =>
        `  env.${b.binding} → ${b.service}${b.entrypoint ? `#${b.entrypoint}` : ""} props ${JSON.stringify(b.props)}`,
    )
    .join("\n");
}

export function registerDeploy(program: Command) {
  program
    .command("deploy")
    .description("wrangler deploy every generated worker in dependency order (--dry-run builds without uploading)")
    .option(...MANIFEST_OPTION)
    .option("--out <dir>", "generated configs folder", ".isomesh/gen")
    .option("--kv-id <id>", "KV namespace id for snapshots")
    .option(...TRACE_SAMPLING_OPTION)
    .option(...ACCESS_LOG_OPTION)
    .option("--dry-run", "build every worker without uploading")
    .option(...DATA_PLANE_OPTION)
    .option(...KEYS_OPTION)
    .action(
      async (o: {
        manifest?: string;
        out: string;
        kvId?: string;
        dryRun?: boolean;
        traceSampling: string;
        accessLog: string;
        dataPlane?: string;
        keys?: string;
      }) => {
        const keys = await dataPlaneKeys(o);
        // The apps' exports (for Workers RPC) are read from their builds, as `isomesh gen` does.
        const warn = (line: string) => console.log(c.dim(`note: ${line}`));
        const mesh = await generateWithExports(
          manifestPath(o.manifest),
          {
            outDir: o.out,
            beaconKeys: keys.beaconKeys,
            kvId: o.kvId,
            traceSampling: samplingRate(o.traceSampling),
            accessLog: accessLogMode(o.accessLog),
            dataPlane: dataPlaneOption(o.dataPlane),
          },
          join(o.out, "..", "build"),
          warn,
        );
        for (const note of mesh.notes) console.log(c.dim(`note: ${note}`));
        // Dry run: each worker built once. Deploy: in binding order, cycles broken by a first upload
        // without the bindings that cannot resolve yet (scripts/lib/deploy-plan.ts).
        const plan = o.dryRun ? deployPlan(mesh.workers).filter((s) => !s.without) : deployPlan(mesh.workers);
        const order = plan.filter((s) => !s.without).map((s) => s.worker);
        const failed: string[] = [];
        for (const { worker: w, without } of plan) {
          let configPath = w.configPath;
          if (without) {
            configPath = join(dirname(w.configPath), "wrangler.partial.json");
            writeFileSync(configPath, JSON.stringify(withoutBindingsTo(w.config, without), null, 2));
          }
          const args = ["deploy", "-c", configPath];
          if (o.dryRun) args.push("--dry-run", "--outdir", resolve(o.out, "..", "dist", w.config.name));
          const label = without
            ? `${w.config.name} ${c.dim(`(first without ${without.join(", ")})`)}`
            : `${w.config.name} ${c.dim(`(${w.role})`)}`;
          const out = run(args, label);
          if (out === undefined) {
            failed.push(w.config.name);
            // A worker others bind must exist before they deploy: stop rather than fail each of them.
            if (!o.dryRun) break;
          } else if (o.dryRun) {
            console.log(bindingsTable(out));
            const props = bindingProps(w.config);
            if (props) console.log(props);
          }
        }
        if (failed.length && !o.dryRun)
          throw new CliError(`deploy stopped at ${failed[0]}: the workers after it in the plan were not deployed`);
        if (failed.length)
          throw new CliError(`${failed.length} of ${order.length} workers failed: ${failed.join(", ")}`);
        // Last, once every data-plane Worker holds the key set: after a rotation the control plane
        // signs with the new key only when nothing still verifies with the old set alone.
        const control = mesh.workers.find((w) => w.role === "control")!.config.name;
        const signer = signingKey(keys.file);
        if (o.dryRun)
          console.log(c.dim(`note: a deploy then sets ${control}'s ${SIGNING_SECRET} secret to key ${signer.kid}`));
        else if (
          run(
            ["secret", "put", SIGNING_SECRET, "--name", control],
            `${control} ${c.dim(`(${SIGNING_SECRET}: key ${signer.kid} of ${keys.path})`)}`,
            JSON.stringify(signer),
          ) === undefined
        )
          throw new CliError(
            `the workers are deployed but ${control} has not its signing key: rerun isomesh deploy (until it has, edges keep their config)`,
          );
        console.log(c.green(`${o.dryRun ? "built" : "deployed"} ${order.length} workers`));
      },
    );
}
