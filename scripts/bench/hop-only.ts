// Only the hop-overhead benchmark, printed (for working on the edge's hot path):
//   node --import tsx scripts/bench/hop-only.ts [rate=500] [seconds=6] [reps=3]
import { hopOverhead } from "./hop.ts";

const [rate = "500", seconds = "6", reps = "3"] = process.argv.slice(2);
const { rows } = await hopOverhead({ rate: Number(rate), seconds: Number(seconds), reps: Number(reps), log: (s) => console.log(s) });
const byName = (n: string) => rows.find((r) => r.name.startsWith(n))!;
const us = (ms: number) => `${Math.round(ms * 1000)} µs`;
console.log(`edge hop over pass-through: p50 +${us(byName("isomesh service edge").p50 - byName("pass-through").p50)}, CPU +${Math.round(byName("isomesh service edge").cpuUsPerReq - byName("pass-through").cpuUsPerReq)} µs/req`);
process.exit(0);
