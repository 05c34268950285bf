import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { CliError } from "./client.ts";
import { REPO_ROOT } from "../lib/paths.ts";
import { registerConfigCommands } from "./commands/config.ts";
import { registerDeploy } from "./commands/deploy.ts";
import { registerDev } from "./commands/dev.ts";
import { registerExplain } from "./commands/explain.ts";
import { registerObserve } from "./commands/observe.ts";
import { registerAnalyze } from "./commands/analyze.ts";
import { registerRollout } from "./commands/rollout.ts";
import { registerBench } from "./commands/bench.ts";
import { registerGen } from "./commands/gen.ts";
import { registerKeys } from "./commands/keys.ts";

const { version } = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string };

const program = new Command("isomesh")
  .description("A service mesh for Cloudflare Workers: run, configure and observe it")
  .version(
    version,
    "-V, --version",
    "the CLI's version (`isomesh version` is the config version the control plane serves)",
  )
  .option("--admin <url>", "admin API URL (or ISOMESH_ADMIN)")
  .option("--token <token>", "admin API token (or ISOMESH_TOKEN)")
  .showHelpAfterError()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

registerDev(program);
registerGen(program);
registerDeploy(program);
registerKeys(program);
registerConfigCommands(program);
registerExplain(program);
registerObserve(program);
registerAnalyze(program);
registerRollout(program);
registerBench(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  const err = e instanceof CliError ? e : undefined;
  process.stderr.write(`isomesh: ${err ? err.message : (e as Error).message.split("\n").join("\n  ")}\n`);
  process.exit(err?.exitCode ?? 1);
}
