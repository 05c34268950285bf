// What BENCHMARKS.md says about the hop: issue 27's targets from this run's rows, the history of the
// headline figures across runs (appended by every `npm run bench`), and the ladder before and after.
import type { HopRow } from "./hop.ts";
import type { InstructionRow, LadderRow } from "./ladder.ts";

const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : "–");
const signed = (us: number) => (Number.isFinite(us) ? `${us >= 0 ? "+" : ""}${f(us)} µs` : "–");
const met = (ok: boolean) => (ok ? "**met**" : "**not met**");

/** One mesh row against the bare row with as many binding hops: µs of p50 and of CPU per request. */
export type Over = { p50Us: number; cpuUs: number };
const over = (mesh: HopRow | undefined, bare: HopRow | undefined): Over | undefined =>
  mesh && bare ? { p50Us: (mesh.p50 - bare.p50) * 1000, cpuUs: mesh.cpuUsPerReq - bare.cpuUsPerReq } : undefined;

/** The four comparisons issue 27 sets targets on, each against a bare chain of the same hop count. */
export function hopComparisons(rows: HopRow[]) {
  const row = (prefix: string) => rows.find((r) => r.name.startsWith(prefix));
  const pass = row("pass-through binding hop");
  return {
    edgeHop: over(row("isomesh service edge"), pass),
    inlineEastWest: over(row("east-west inline"), pass),
    northSouthEdge: over(row("isomesh (gateway → edge → app)"), row("two pass-through binding hops")),
    northSouthInline: over(row("isomesh inline (gateway → app)"), pass),
  };
}

const TARGETS = {
  edgeHop: { p50: 30, cpu: 40, what: "a service edge hop (edge → app vs pass-through → app)" },
  inlineEastWest: {
    p50: 30,
    cpu: 50,
    what: "inline east-west, both halves (app → app vs the same call over a bare binding)",
  },
  northSouthEdge: { p50: 50, cpu: 60, what: "north-south, edge mode (gateway → edge → app vs two bare hops)" },
  northSouthInline: { p50: 50, cpu: 60, what: "north-south, inline mode (gateway → app vs one bare hop)" },
} as const;

/** The targets table's rows for the hop (issue 27). */
export function hopTargetRows(rows: HopRow[]): string {
  const got = hopComparisons(rows);
  return (Object.keys(TARGETS) as (keyof typeof TARGETS)[])
    .map((k) => {
      const t = TARGETS[k];
      const o = got[k];
      if (!o) return `| ${t.what} ≤ +${t.p50} µs p50, ≤ +${t.cpu} µs CPU | not measured | |`;
      const missed = [
        o.p50Us > t.p50 ? `p50 by ${f(o.p50Us - t.p50)} µs` : "",
        o.cpuUs > t.cpu ? `CPU by ${f(o.cpuUs - t.cpu)} µs` : "",
      ]
        .filter(Boolean)
        .join(", ");
      return `| ${t.what} ≤ +${t.p50} µs p50, ≤ +${t.cpu} µs CPU | ${signed(o.p50Us)} p50, ${signed(o.cpuUs)} CPU | ${met(!missed)}${missed ? ` (${missed})` : ""} |`;
    })
    .join("\n");
}

const HISTORY_HEADING = "## History of the hop";
const HISTORY_HEADER = `| date | commit | edge hop p50 | edge hop CPU | inline east-west p50 | inline east-west CPU | north-south edge p50 | north-south edge CPU | north-south inline p50 | north-south inline CPU |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`;
// The run before issue 27 (BENCHMARKS.md of 2026-12-01, commit 30ce07a): it had no bare two-hop chain.
const FIRST_ROW = "| 2026-12-01 | 30ce07a | +192 µs | +180 µs | +189 µs | +215 µs | – | – | +298 µs | +253 µs |";

/** The history table: the rows of the previous BENCHMARKS.md (or the first run on record), then this run's. */
export function historySection(previous: string, date: string, commit: string, rows: HopRow[]): string {
  const at = previous.indexOf(HISTORY_HEADING);
  const old =
    at < 0
      ? [FIRST_ROW]
      : previous
          .slice(at)
          .split("\n")
          .filter((l) => /^\| \d{4}-\d\d-\d\d \|/.test(l));
  const c = hopComparisons(rows);
  const cell = (o: Over | undefined, k: keyof Over) => signed(o ? o[k] : NaN);
  const now = `| ${date} | ${commit} | ${cell(c.edgeHop, "p50Us")} | ${cell(c.edgeHop, "cpuUs")} | ${cell(c.inlineEastWest, "p50Us")} | ${cell(c.inlineEastWest, "cpuUs")} | ${cell(c.northSouthEdge, "p50Us")} | ${cell(c.northSouthEdge, "cpuUs")} | ${cell(c.northSouthInline, "p50Us")} | ${cell(c.northSouthInline, "cpuUs")} |`;
  return `${HISTORY_HEADING}

Every \`npm run bench\` adds a row (figures over the bare chain with as many binding hops, from section 1 of its run), so a
change that makes the hop dearer shows as a step here. Rows of different runs come from different moments of a shared machine:
read a step, not a few µs.

${HISTORY_HEADER}
${[...old, now].join("\n")}
`;
}

/**
 * The ladder before issue 27's core: commit 86c96b0 (the old pipeline moved into workers/dataplane/, no
 * behaviour change), its own ladder worker with this run's gateway front added, 1000 requests per rung
 * under callgrind. Measured once (not by this run): `git checkout 86c96b0`, the front added as here,
 * `node --import tsx scripts/bench/ladder.ts 1000 1 instructions`.
 */
export const LADDER_BEFORE: { rung: string; k: number }[] = [];

/** The ladder section: this run's rungs (instructions when valgrind is here, else CPU), and the rungs before. */
export function ladderSection(after: { instructions?: InstructionRow[]; cpu?: LadderRow[] }, command: string): string {
  const rows = after.instructions
    ? after.instructions.map((r) => ({ rung: r.rung, value: r.instructionsPerReq / 1000 }))
    : (after.cpu ?? []).map((r) => ({ rung: r.rung, value: r.cpuUsPerReq }));
  if (!rows.length) return "";
  const unit = after.instructions ? "k instructions" : "µs CPU";
  const bare = rows[0].value;
  const table = rows
    .map(
      (r, i) =>
        `| ${r.rung} | ${f(r.value, 1)} | ${i ? `+${f(r.value - rows[i - 1].value, 1)}` : "–"} | ${i ? `+${f(r.value - bare, 1)}` : "–"} |`,
    )
    .join("\n")
    .replaceAll("+-", "−");
  const beforeBare = LADDER_BEFORE[0]?.k ?? NaN;
  const before = LADDER_BEFORE.length
    ? `Before the core (commit 86c96b0, the old pipeline; same harness and front, not this run):

| rung | k instructions / request | over bare |
| --- | --- | --- |
${LADDER_BEFORE.map((r, i) => `| ${r.rung} | ${f(r.k, 1)} | ${i ? `+${f(r.k - beforeBare, 1)}` : "–"} |`).join("\n")}
`
    : "";
  return `### Where a hop's CPU goes: the ladder

Each rung is a pass-through with one more part of the edge than the rung below (\`scripts/bench/workers/ladder.ts\`), in its own
workerd, behind what the gateway sends a service edge (\`scripts/bench/workers/gateway-front.ts\`: request id, trace context,
deadline, props naming the gateway). ${after.instructions ? "Each rung's workerd runs under valgrind's callgrind: instructions per request, every thread, counted only over the measured requests after a warm-up; the count does not depend on what else the machine does (about 2.5 instructions per ns on this machine, so 1 k instructions ≈ 0.4 µs)." : "CPU is each rung's workerd's own CPU time over the requests it served (valgrind was not installed, so no instruction counts)."} The snapshot is re-checked once an hour here, so the once-a-second beacon check and telemetry flush of a real isolate are not in the figures. \`${command}\`:

| rung | ${unit} / request | this rung | over bare |
| --- | --- | --- | --- |
${table}

${before}`;
}
