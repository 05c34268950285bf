import { Command } from "commander";
import { CliError } from "./client.ts";
import { registerConfigCommands } from "./commands/config.ts";
import { registerDeploy } from "./commands/deploy.ts";
import { registerDev } from "./commands/dev.ts";
import { registerExplain } from "./commands/explain.ts";
import { registerObserve } from "./commands/observe.ts";
import { registerAnalyze } from "./commands/analyze.ts";
import { registerRollout } from "./commands/rollout.ts";
import { registerBench } from "./commands/bench.ts";
import { registerGen } from "./commands/gen.ts";

const program = new Command("isomesh")
  .description("A service mesh for Cloudflare Workers: run, configure and observe it")
  .option("--admin <url>", "admin API URL (or ISOMESH_ADMIN)")
  .option("--token <token>", "admin API token (or ISOMESH_TOKEN)")
  .showHelpAfterError()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

registerDev(program);
registerGen(program);
registerDeploy(program);
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
