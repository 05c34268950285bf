import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Miniflare } from "miniflare";
import { bundleWorker } from "../lib/bundle.ts";
import { REPO_ROOT } from "../lib/paths.ts";
import { startMesh } from "../lib/runtime.ts";
import { type HopRow, measureTarget, TRACE_SAMPLING } from "./hop.ts";

/**
 * One Workers RPC call (`await env.APP.get(1)`, a ~1 KB object back) made by the same caller over
 * a bare service binding to the app and over the mesh's binding (through the app's edge), and the
 * same caller's fetch both ways for comparison; all driven over HTTP at a constant rate.
 */
export async function rpcOverhead(opts: {
  rate: number;
  seconds: number;
  reps: number;
  log: (s: string) => void;
}): Promise<HopRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "isomesh-bench-rpc-"));
  const app = resolve(REPO_ROOT, "scripts/bench/workers/rpc-app.ts");
  const client = resolve(REPO_ROOT, "scripts/bench/workers/rpc-client.ts");
  const [appScript, clientScript] = await Promise.all([
    bundleWorker(app, undefined, dir),
    bundleWorker(client, undefined, dir),
  ]);
  // Every port is picked by workerd (port 0) and read back, never probed.
  const bare = new Miniflare({
    cf: false,
    workers: [
      {
        name: "client",
        modules: true,
        modulesRoot: dir,
        scriptPath: clientScript,
        compatibilityDate: "2025-04-01",
        serviceBindings: { APP: "app" },
        unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
      },
      { name: "app", modules: true, modulesRoot: dir, scriptPath: appScript, compatibilityDate: "2025-04-01" },
    ],
  });
  await bare.ready;
  const bareUrl = (await bare.unsafeGetDirectURL("client")).origin;
  writeFileSync(
    join(dir, "mesh.yaml"),
    `name: benchrpc\nservices:\n  - name: client\n    versions: [{ name: v1, worker: ${client} }]\n    calls: [app]\n  - name: app\n    versions: [{ name: v1, worker: ${app} }]\n`,
  );
  const mesh = await startMesh({
    manifestPath: join(dir, "mesh.yaml"),
    port: 0,
    stateDir: join(dir, "state"),
    adminToken: "bench-token-0123456789",
    persist: false,
    gen: { accessLog: "off", traceSampling: TRACE_SAMPLING },
    onLog: () => {},
    expose: { "client-v1": 0 },
  });
  const clientUrl = (await mesh.miniflare.unsafeGetDirectURL(mesh.workerName("client-v1"))).origin;
  const rows: HopRow[] = [];
  try {
    for (const t of [
      { name: "RPC over a bare binding (client → app)", url: `${bareUrl}/rpc` },
      { name: "RPC through the mesh (client → app-edge → app)", url: `${clientUrl}/rpc` },
      { name: "fetch over a bare binding (client → app)", url: `${bareUrl}/fetch` },
      { name: "fetch through the mesh (client → app-edge → app)", url: `${clientUrl}/fetch` },
    ])
      rows.push(await measureTarget({ ...t, processes: ["workerd"] }, opts));
  } finally {
    await mesh.dispose();
    await bare.dispose();
  }
  return rows;
}
