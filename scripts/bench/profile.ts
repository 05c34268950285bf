// Where an edge spends its CPU: runs the hop benchmark's mesh with workerd's inspector on, takes a
// V8 CPU profile of one worker under constant load, prints self and inclusive time per function
// and writes the .cpuprofile (open it in Chrome DevTools › Performance).
//   node --import tsx scripts/bench/profile.ts [worker=app-edge] [rate=800] [seconds=4]
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { REPO_ROOT } from "../lib/paths.ts";
import { startMesh } from "../lib/runtime.ts";
import { inspectorSessions } from "./inspector.ts";
import { constantRate } from "./load.ts";

type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] };
type Profile = { nodes: Node[]; samples: number[] };

export type ProfileRow = { fn: string; percent: number };

/**
 * A V8 CPU profile of one worker of the hop benchmark's mesh (gateway → app's edge → app) under
 * constant load: the functions with the most self and inclusive time, and where the profile was written.
 */
export async function profileWorker(o: { worker: string; rate: number; seconds: number; top?: number }) {
  const inspectorPort = 9300 + Math.floor(Math.random() * 500);
  process.env.ISOMESH_INSPECTOR_PORT = String(inspectorPort);
  const dir = mkdtempSync(join(tmpdir(), "isomesh-profile-"));
  writeFileSync(
    join(dir, "mesh.yaml"),
    `name: bench\nservices:\n  - name: app\n    versions: [{ name: v1, worker: ${resolve(REPO_ROOT, "scripts/bench/workers/app.ts")} }]\n`,
  );
  const mesh = await startMesh({
    manifestPath: join(dir, "mesh.yaml"),
    port: 0,
    stateDir: join(dir, "state"),
    adminToken: "profile-token-0123456789",
    persist: false,
    gen: { accessLog: "off", traceSampling: 0.01 },
    onLog: () => {},
  });
  delete process.env.ISOMESH_INSPECTOR_PORT;
  try {
    await fetch(`${mesh.adminUrl}/v1/apply?wait=true`, {
      method: "POST",
      headers: { authorization: "Bearer profile-token-0123456789" },
      body: "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: { name: app }\nspec:\n  parentRefs: [{ name: gateway }]\n  rules:\n    - backendRefs: [{ name: app }]\n      retry: { codes: [503], attempts: 1 }\n",
    });
    const [session] = await inspectorSessions(inspectorPort, [mesh.workerName(o.worker)]);
    if (!session) throw new Error(`no worker ${o.worker} in this mesh`);
    const send = session.send;
    const url = `${mesh.gatewayUrl}/`;
    await constantRate(url, { rate: o.rate, seconds: 1 });
    await send("Profiler.enable");
    await send("Profiler.setSamplingInterval", { interval: 50 });
    await send("Profiler.start");
    await constantRate(url, { rate: o.rate, seconds: o.seconds });
    const { profile } = await send<{ profile: Profile }>("Profiler.stop");
    session.close();
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const label = (n: Node) =>
      `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.split("/").pop()}:${n.callFrame.lineNumber + 1}`;
    const self = new Map<string, number>();
    const inclusive = new Map<string, number>();
    for (const sample of profile.samples) {
      const leaf = byId.get(sample)!;
      self.set(label(leaf), (self.get(label(leaf)) ?? 0) + 1);
      const seen = new Set<string>();
      for (let id: number | undefined = sample; id !== undefined; id = parent.get(id)) seen.add(label(byId.get(id)!));
      for (const k of seen) inclusive.set(k, (inclusive.get(k) ?? 0) + 1);
    }
    const top = (m: Map<string, number>): ProfileRow[] =>
      [...m]
        .sort((a, b) => b[1] - a[1])
        .slice(0, o.top ?? 30)
        .map(([fn, v]) => ({ fn, percent: (100 * v) / profile.samples.length }));
    const file = join(dir, `${o.worker}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    return { samples: profile.samples.length, self: top(self), inclusive: top(inclusive), file };
  } finally {
    await mesh.dispose();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [worker = "app-edge", rate = "800", seconds = "4"] = process.argv.slice(2);
  const p = await profileWorker({ worker, rate: Number(rate), seconds: Number(seconds) });
  const lines = (rows: ProfileRow[]) => rows.map((r) => `  ${r.percent.toFixed(1).padStart(5)}%  ${r.fn}`).join("\n");
  console.log(`${worker}: ${p.samples} samples\nself time\n${lines(p.self)}\ninclusive time\n${lines(p.inclusive)}`);
  console.log(`profile written to ${p.file}`);
  process.exit(0);
}
