// What BENCHMARKS.md says about the hop: issue 27's targets from this run's rows, the history of the
// headline figures across runs (appended by every `npm run bench`), and the ladder before and after.
import type { HopRow } from "./hop.ts";
import type { LadderRow } from "./ladder.ts";

const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : "–");
const signed = (us: number) => (Number.isFinite(us) ? `${us >= 0 ? "+" : ""}${f(us)} µs` : "–");
const signedK = (k: number) => `${k >= 0 ? "+" : "−"}${f(Math.abs(k), 1)}`;
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
const HISTORY_HEADER = `| date | commit | bare hop CPU | edge hop p50 | edge hop CPU | inline east-west p50 | inline east-west CPU | north-south edge p50 | north-south edge CPU | north-south inline p50 | north-south inline CPU |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`;
// The run before issue 27 (BENCHMARKS.md of 2026-12-01, commit 30ce07a): it had no bare two-hop chain.
const FIRST_ROW =
  "| 2026-12-01 | 30ce07a | 165 µs | +192 µs | +180 µs | +189 µs | +215 µs | – | – | +298 µs | +253 µs |";

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
  const bare = rows.find((r) => r.name.startsWith("pass-through binding hop"));
  const now = `| ${date} | ${commit} | ${bare ? `${f(bare.cpuUsPerReq)} µs` : "–"} | ${cell(c.edgeHop, "p50Us")} | ${cell(c.edgeHop, "cpuUs")} | ${cell(c.inlineEastWest, "p50Us")} | ${cell(c.inlineEastWest, "cpuUs")} | ${cell(c.northSouthEdge, "p50Us")} | ${cell(c.northSouthEdge, "cpuUs")} | ${cell(c.northSouthInline, "p50Us")} | ${cell(c.northSouthInline, "cpuUs")} |`;
  return `${HISTORY_HEADING}

Every \`npm run bench\` adds a row (figures over the bare chain with as many binding hops, from section 1 of its run), so a
change that makes the hop dearer shows as a step here. Rows of different runs come from different moments of a shared machine:
read a step, not a few µs. The bare hop's own CPU per request (the pass-through row) says how fast the machine was in that run:
when it doubles, so do the figures over it.

${HISTORY_HEADER}
${[...old, now].join("\n")}
`;
}

/**
 * The ladder in instructions, before and after issue 27's core, each measured once outside `npm run
 * bench` (deterministic: callgrind counts the same whatever else the machine does; each run takes
 * about half an hour under valgrind on this machine). Before: commit 86c96b0 (the old pipeline moved
 * into workers/dataplane/, no behaviour change) with its own ladder worker and the gateway front
 * added as here; after: the commit named. Both `node --import tsx scripts/bench/ladder.ts 1000 1 instructions`,
 * 2000 warm-up requests, then 1000 counted.
 */
export const INSTRUCTION_LADDERS: { commit: string; what: string; rows: { rung: string; k: number }[] }[] = [
  {
    commit: "86c96b0",
    what: "Before: the pipeline as it was (the edge's fetch chain, the hand-written RPC pipeline, the inline runtime)",
    rows: [
      { rung: "bare pass-through", k: 753 },
      { rung: "observing floor (await, count status, stamp a copy, AbortSignal.timeout)", k: 797 },
      { rung: "+ edge entrypoint (WorkerEntrypoint, RPC proxy) and snapshot source", k: 811 },
      { rung: "+ exchange (headers, URL, trace, facts)", k: 923 },
      { rung: "+ telemetry stage (recorder, flusher)", k: 976 },
      { rung: "+ respond (stamped response copy)", k: 975 },
      { rung: "+ errors, normalize", k: 963 },
      { rung: "+ authn, authz", k: 976 },
      { rung: "+ route (and its deadline)", k: 975 },
      { rung: "+ filters, fault, ratelimit, outlier, split, backendFilters, mirror, concurrency", k: 984 },
      { rung: "+ forward, upstream (try loop, timers, headers): the whole pipeline", k: 1097 },
      { rung: "the edge Worker itself (workers/edge/index.ts)", k: 1130 },
    ],
  },
  {
    commit: "cf064f0",
    what: "After: the one core (workers/dataplane/)",
    rows: [
      { rung: "bare pass-through", k: 755.3 },
      { rung: "observing floor (await, count status, stamp a copy, AbortSignal.timeout)", k: 811.1 },
      { rung: "+ edge entrypoint (WorkerEntrypoint, RPC forwarding) and snapshot source", k: 800.2 },
      { rung: "+ exchange (who calls, trace context, request id, deadline, host)", k: 824.0 },
      { rung: "+ telemetry stage (recorder, flusher, the abort listener)", k: 896.7 },
      { rung: "+ respond (stamped response copy)", k: 906.2 },
      { rung: "+ errors, normalize", k: 924.7 },
      { rung: "+ authn, authz", k: 927.2 },
      { rung: "+ route (and its deadline)", k: 921.5 },
      { rung: "+ filters, fault, ratelimit, outlier, split, backendFilters, mirror, concurrency", k: 938.8 },
      { rung: "+ forward, upstream (try loop, timer, the next hop's headers): the whole pipeline", k: 1022.1 },
      { rung: "the edge Worker itself (workers/edge/index.ts)", k: 1046.5 },
    ],
  },
];

/** The ladder section: this run's CPU ladder, and the instruction ladders before and after the core. */
export function ladderSection(cpu: LadderRow[], command: string): string {
  if (!cpu.length) return "";
  const bare = cpu[0].cpuUsPerReq;
  const table = cpu
    .map(
      (r, i) =>
        `| ${r.rung} | ${f(r.cpuUsPerReq, 1)} | ${i ? signed(r.cpuUsPerReq - cpu[i - 1].cpuUsPerReq) : "–"} | ${i ? signed(r.cpuUsPerReq - bare) : "–"} |`,
    )
    .join("\n");
  const ladders = INSTRUCTION_LADDERS.filter((l) => l.rows.length)
    .map((l) => {
      const b = l.rows[0].k;
      return `${l.what} (commit ${l.commit}):

| rung | k instructions / request | this rung | over bare |
| --- | --- | --- | --- |
${l.rows.map((r, i) => `| ${r.rung} | ${f(r.k, 1)} | ${i ? signedK(r.k - l.rows[i - 1].k) : "–"} | ${i ? signedK(r.k - b) : "–"} |`).join("\n")}
`;
    })
    .join("\n");
  return `### Where a hop's CPU goes: the ladder

Each rung is a pass-through with one more part of the edge than the rung below (\`scripts/bench/workers/ladder.ts\`), in its own
workerd, behind what the gateway sends a service edge (\`scripts/bench/workers/gateway-front.ts\`: request id, trace context,
deadline, props naming the gateway), so the front's own cost is in every rung. The snapshot is re-checked once an hour there,
so a real isolate's once-a-second beacon check and telemetry flush are not in the figures. This run, in CPU time
(each rung's workerd's own CPU over the requests it served, median of three runs; \`${command}\`):

| rung | µs CPU / request | this rung | over bare |
| --- | --- | --- | --- |
${table}

CPU time on a shared machine moves by ±10–20 µs per rung from run to run. The same ladder in instructions (each rung's
workerd under valgrind's callgrind, every thread, counted over 1000 requests after 2000 of warm-up) does not depend on what
else the machine does, but still moves by up to about 5% between runs of the same code (the isolate's JIT and garbage
collection): a single rung's step of 10–30 k is within that, the whole edge over the bare hop is not. On this machine 1 k
instructions is about 0.4 µs. Measured once each, outside this run (\`node --import tsx scripts/bench/ladder.ts 1000 1 instructions\`,
about half an hour under valgrind; \`… 1000 3 instructions 0,11\` takes the median of three runs of chosen rungs):

${ladders}`;
}
