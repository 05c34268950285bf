// Only the hop-overhead benchmark, printed (for working on the edge's hot path):
//   node --import tsx scripts/bench/hop-only.ts [rate=500] [seconds=6] [reps=3] [only=pass-through,isomesh service]
// `only` keeps the configurations whose names start with one of the comma-separated prefixes.
import { hopOverhead } from "./hop.ts";

const [rate = "500", seconds = "6", reps = "3", only] = process.argv.slice(2);
const { rows } = await hopOverhead({
  rate: Number(rate),
  seconds: Number(seconds),
  reps: Number(reps),
  log: (s) => console.log(s),
  only: only?.split(","),
});
const byName = (n: string) => rows.find((r) => r.name.startsWith(n));
const edge = byName("isomesh service edge");
const pass = byName("pass-through");
if (!edge || !pass) process.exit(0);
const us = (ms: number) => `${Math.round(ms * 1000)} µs`;
console.log(
  `edge hop over pass-through: p50 +${us(edge.p50 - pass.p50)}, CPU +${Math.round(edge.cpuUsPerReq - pass.cpuUsPerReq)} µs/req`,
);
process.exit(0);
