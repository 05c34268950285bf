import type { Command } from "commander";
import { runBenchmarks } from "../../bench/run.ts";

export function registerBench(program: Command) {
  program
    .command("bench")
    .description("measure hop overhead, config scale, propagation, telemetry and JWT cost; writes BENCHMARKS.md")
    .option("--smoke", "a short run that checks the harness (CI)")
    .option("--out <file>", "report file", "BENCHMARKS.md")
    .action(async (o: { smoke?: boolean; out: string }) => {
      await runBenchmarks({ smoke: !!o.smoke, out: o.out, command: `npm run bench${o.smoke ? " -- --smoke" : ""}` });
      process.exit(0); // Miniflare and keep-alive agents may leave handles open
    });
}
