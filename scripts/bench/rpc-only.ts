// Only the Workers RPC benchmark, printed: node --import tsx scripts/bench/rpc-only.ts [rate=500] [seconds=6] [reps=3]
import { rpcOverhead } from "./rpc.ts";

const [rate = "500", seconds = "6", reps = "3"] = process.argv.slice(2);
await rpcOverhead({ rate: Number(rate), seconds: Number(seconds), reps: Number(reps), log: (s) => console.log(s) });
process.exit(0);
