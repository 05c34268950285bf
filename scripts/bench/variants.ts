// What one edge operation costs in workerd process CPU: a pass-through worker with exactly one
// operation added, under constant load (500 req/s, 5 runs of 5 s, median; resolution ≈ 4 µs):
//   node --import tsx scripts/bench/variants.ts
import { resolve } from "node:path";
import { Miniflare } from "miniflare";
import { REPO_ROOT } from "../lib/paths.ts";
import { cpuSecondsOf } from "./cpu.ts";
import { constantRate, median } from "./load.ts";

const VARIANTS = [
  "pass",
  "touch headers",
  "copy headers",
  "scan header names",
  "parse URL",
  "rebuild request",
  "copy response",
  "pass",
];
const dir = resolve(REPO_ROOT, "scripts/bench/workers");
const base = 31000 + Math.floor(Math.random() * 1000);
const mf = new Miniflare({
  workers: [
    {
      name: "app",
      modules: true,
      script:
        'export default { fetch() { return new Response("x".repeat(1000), { headers: { "content-type": "application/json" } }); } }',
      compatibilityDate: "2025-04-01",
    },
    ...VARIANTS.map((v, i) => ({
      name: `variant-${i}`,
      modules: true,
      modulesRoot: dir,
      scriptPath: resolve(dir, "variants.js"),
      compatibilityDate: "2025-04-01",
      bindings: { VARIANT: v },
      serviceBindings: { APP: "app" },
      unsafeDirectSockets: [{ host: "127.0.0.1", port: base + i }],
    })),
  ],
});
await mf.ready;
const headers = {
  "user-agent": "bench",
  accept: "*/*",
  traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
  "x-request-id": "r",
};
for (const [i, v] of VARIANTS.entries()) {
  const url = `http://127.0.0.1:${base + i}/app`;
  await constantRate(url, { rate: 500, seconds: 1, headers });
  const cpus: number[] = [];
  for (let r = 0; r < 5; r++) {
    const before = cpuSecondsOf("workerd");
    const res = await constantRate(url, { rate: 500, seconds: 5, headers });
    cpus.push(((cpuSecondsOf("workerd") - before) * 1e6) / res.sent);
  }
  console.log(
    `${String(Math.round(median(cpus))).padStart(5)} µs CPU/request  ${v}  (runs: ${cpus.map(Math.round).join(", ")})`,
  );
}
await mf.dispose();
process.exit(0);
