// What each thing an edge may do costs on top of a bare pass-through hop, in instructions per
// request (scripts/bench/callgrind.ts), one variant per workerd process:
//   node --import tsx scripts/bench/primitives.ts [requests=1000] [variant-prefix,…]
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { REPO_ROOT } from "../lib/paths.ts";
import { instructionsPerRequest } from "./callgrind.ts";

export const PRIMITIVES: { variant: string; entrypoint?: string }[] = [
  { variant: "bare" },
  { variant: "bare", entrypoint: "Plain" },
  { variant: "bare", entrypoint: "Proxied" },
  { variant: "bare", entrypoint: "ProtoProxied" },
  { variant: "await + count status" },
  { variant: "response copy + 3 header sets" },
  { variant: "AbortSignal.timeout on the fetch" },
  { variant: "setTimeout + clearTimeout" },
  { variant: "AbortController + setTimeout, signal on the fetch" },
  { variant: "AbortSignal.any(timeout, request.signal)" },
  { variant: "request.signal abort listener" },
  { variant: "request.signal on the fetch" },
  { variant: "5 headers.get" },
  { variant: "scan header names" },
  { variant: "new Headers copy" },
  { variant: "new Request(request, {headers}) with 4 sets" },
  { variant: "fetch(url, init) with 4 sets" },
  { variant: "new Request(request), 4 sets on its headers" },
  { variant: "fetch(request, {headers}) with 4 sets" },
  { variant: "new Headers copy + 4 sets" },
  { variant: "response copy, no sets" },
  { variant: "response copy + 2 header sets" },
  { variant: "new URL(request.url)" },
  { variant: "request.url string" },
  { variant: "crypto.randomUUID" },
  { variant: "getRandomValues(24)" },
  { variant: "13 chained async functions" },
  { variant: "13 chained async functions, awaited" },
  { variant: "ctx.waitUntil(resolved promise)" },
];

export async function primitiveCosts(opts: { requests: number; only?: string[]; log: (s: string) => void }) {
  const dir = mkdtempSync(join(tmpdir(), "isomesh-primitives-"));
  const script = resolve(REPO_ROOT, "scripts/bench/workers/primitives.js");
  const rows: { name: string; instructions: number }[] = [];
  for (const p of PRIMITIVES) {
    const name = `${p.variant}${p.entrypoint ? ` (${p.entrypoint})` : ""}`;
    if (opts.only && !opts.only.some((o) => name.startsWith(o))) continue;
    const n = await instructionsPerRequest(
      {
        cf: false,
        workers: [
          {
            name: "hop",
            modules: true,
            modulesRoot: dirOf(script),
            scriptPath: script,
            compatibilityDate: "2025-04-01",
            compatibilityFlags: ["nodejs_compat", "enable_request_signal"],
            bindings: { VARIANT: p.variant },
            serviceBindings: { APP: "app" },
            unsafeDirectSockets: [{ host: "127.0.0.1", port: 0, entrypoint: p.entrypoint }],
          },
          {
            name: "app",
            modules: true,
            script:
              'export default { fetch() { return new Response("x".repeat(1000), { headers: { "content-type": "application/json" } }); } }',
            compatibilityDate: "2025-04-01",
          },
        ],
      },
      async (mf) => `${(await mf.unsafeGetDirectURL("hop", p.entrypoint)).origin}/app`,
      { requests: opts.requests, dir },
    );
    rows.push({ name, instructions: n });
    opts.log(`  ${String(Math.round(n / 100) / 10).padStart(7)} k instructions  ${name}`);
  }
  return rows;
}

const dirOf = (p: string) => p.slice(0, p.lastIndexOf("/"));

if (import.meta.url === `file://${process.argv[1]}`) {
  const [requests = "1000", only] = process.argv.slice(2);
  await primitiveCosts({ requests: Number(requests), only: only?.split(","), log: console.log });
  process.exit(0);
}
