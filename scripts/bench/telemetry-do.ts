import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MetricSeries } from "../../shared/control-api.ts";
import { bucketIndex, emptyBuckets } from "../../shared/histogram.ts";
import { startMesh } from "../lib/runtime.ts";

/** Flushes one Telemetry Durable Object absorbs per second: batches of `seriesPerBatch` series, sent back to back. */
export async function telemetryDo(opts: { batches: number; seriesPerBatch: number }) {
  const dir = mkdtempSync(join(tmpdir(), "isomesh-tdo-"));
  writeFileSync(
    join(dir, "mesh.yaml"),
    "name: t\nservices:\n  - { name: web, versions: [{ name: v1, echo: true }] }\n",
  );
  const mesh = await startMesh({
    manifestPath: join(dir, "mesh.yaml"),
    port: 0,
    stateDir: join(dir, "s"),
    adminToken: "tdo-token-0123456789",
    persist: false,
    onLog: () => {},
  });
  const ns = await mesh.miniflare.getDurableObjectNamespace("TELEMETRY", mesh.workerName("control"));
  const stub = ns.get(ns.idFromName("service:web")) as unknown as {
    ingest(s: MetricSeries[], at: number): Promise<void>;
  };
  const batch = (k: number): MetricSeries[] =>
    Array.from({ length: opts.seriesPerBatch }, (_, i) => {
      const buckets = emptyBuckets();
      buckets[bucketIndex(3 + (i % 40))] = 10;
      return {
        reporter: "web-edge",
        source: `caller-${k % 5}`,
        destination: "web",
        version: `v${i % 3}`,
        route: `r${i % 4}`,
        code: 200 + (i % 2) * 300,
        count: 10,
        sumMs: 50,
        buckets,
        retries: 0,
        flags: {},
      };
    });
  for (let i = 0; i < 20; i++) await stub.ingest(batch(i), Date.now());
  const t0 = performance.now();
  for (let i = 0; i < opts.batches; i++) await stub.ingest(batch(i), Date.now());
  const seconds = (performance.now() - t0) / 1000;
  await mesh.dispose();
  return { flushesPerS: opts.batches / seconds, seriesPerBatch: opts.seriesPerBatch };
}
