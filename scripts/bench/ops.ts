// Per-operation costs of workerd primitives (Headers, URL, Request, Response, a binding call):
//   node --import tsx scripts/bench/ops.ts
import { resolve } from "node:path";
import { Miniflare } from "miniflare";
import { REPO_ROOT } from "../lib/paths.ts";

export async function workerdOps(): Promise<Record<string, number>> {
  const dir = resolve(REPO_ROOT, "scripts/bench/workers");
  const mf = new Miniflare({
    workers: [
      {
        name: "ops",
        modules: true,
        modulesRoot: dir,
        scriptPath: resolve(dir, "ops.js"),
        compatibilityDate: "2025-04-01",
        serviceBindings: { APP: "app" },
      },
      {
        name: "app",
        modules: true,
        script: 'export default { fetch() { return new Response("x".repeat(1000)); } }',
        compatibilityDate: "2025-04-01",
      },
    ],
  });
  const headers = {
    "user-agent": "bench",
    accept: "*/*",
    "x-request-id": "r1",
    traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "accept-encoding": "gzip",
  };
  await mf.dispatchFetch("http://127.0.0.1:8787/app?x=1", { headers }); // warm up
  const ops = (await (await mf.dispatchFetch("http://127.0.0.1:8787/app?x=1", { headers })).json()) as Record<
    string,
    number
  >;
  await mf.dispose();
  return ops;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [name, us] of Object.entries(await workerdOps())) console.log(`${us.toFixed(2).padStart(8)} µs  ${name}`);
}
