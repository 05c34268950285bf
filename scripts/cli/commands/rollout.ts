import type { Command } from "commander";
import { AdminClient } from "../client.ts";
import { c, printStructured, table } from "../output.ts";

const phase = (p: string) =>
  p === "Promoted" ? c.green(p) : p === "RolledBack" ? c.red(p) : p === "Paused" ? c.yellow(p) : c.cyan(p);

export function registerRollout(program: Command) {
  const rollout = program.command("rollout").description("automated canary rollouts: status, pause, resume, abort");
  rollout
    .command("status [name]")
    .description("phase, step, canary weight and the last analysis")
    .option("-o, --output <format>", "json or yaml")
    .action(async (name: string | undefined, o: { output?: string }, cmd: Command) => {
      const client = AdminClient.from(cmd.optsWithGlobals());
      const items = name
        ? [await client.call("GET", `/v1/rollouts/${name}`)]
        : (await client.call("GET", "/v1/rollouts")).items;
      if (printStructured(o.output, name ? items[0] : { items })) return;
      if (!items.length) return console.log("no rollouts");
      console.log(
        table(
          ["ROLLOUT", "SERVICE", "STABLE → CANARY", "PHASE", "STEP", "WEIGHT", "LAST ANALYSIS", "MESSAGE"],
          items.map((r: any) => {
            const a = r.status?.lastAnalysis;
            return [
              r.metadata.name,
              r.spec.targetRef.name,
              `${r.spec.stable} → ${r.spec.canary}`,
              phase(r.status?.phase ?? "-"),
              r.status ? `${r.status.step}/${r.spec.steps.length}` : "-",
              r.status
                ? `${r.status.phase === "Promoted" ? 100 : r.status.phase === "RolledBack" ? 0 : r.status.weight}%`
                : "-",
              a
                ? `${a.requests} req, ${a.successRate === null ? "-" : `${a.successRate.toFixed(1)}%`}, p99 ${a.p99 ?? "-"}ms`
                : "-",
              r.status?.message ?? "",
            ];
          }),
        ),
      );
    });
  const done = { pause: "paused", resume: "resumed", abort: "aborted" } as const;
  for (const action of ["pause", "resume", "abort"] as const)
    rollout
      .command(`${action} <name>`)
      .description(
        action === "pause"
          ? "freeze the current weights"
          : action === "resume"
            ? "continue from the current step"
            : "roll back to 0% now",
      )
      .action(async (name: string, _o: unknown, cmd: Command) => {
        const res = await AdminClient.from(cmd.optsWithGlobals()).call("POST", `/v1/rollouts/${name}/${action}`);
        console.log(`Rollout/${name} ${done[action]} ${c.dim(`(version ${res.version})`)}`);
      });
}
