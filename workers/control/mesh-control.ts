import { WorkerEntrypoint } from "cloudflare:workers";
import { TelemetryBatch } from "../../shared/control-api.ts";
import type { Beacon } from "../../shared/snapshot/distribution.ts";
import type { ControlEnv } from "./env.ts";
import { principalOf } from "./api/auth.ts";
import { configStore, explainStore, mirrorStore, shardOf, telemetryOf, traceStore } from "./objects.ts";
import { toOtlp } from "../../shared/telemetry/otlp.ts";
import { Topology } from "../../shared/manifest/topology.ts";
import type { MetricSeries, Span } from "../../shared/control-api.ts";

/** Spans go to the OTLP/HTTP collector in batches, off every request path; failures are only logged. */
async function exportSpans(endpoint: string, spans: Span[]): Promise<void> {
  try {
    const res = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(toOtlp(spans)),
    });
    await res.body?.cancel();
    if (!res.ok) console.warn(JSON.stringify({ level: "warn", msg: "OTLP export rejected", status: res.status }));
  } catch (e) {
    console.warn(JSON.stringify({ level: "warn", msg: "OTLP export failed", error: String(e) }));
  }
}

/** One Analytics Engine data point per series flush (for meshes that outgrow the DO windows). */
const dataPoint = (s: MetricSeries): AnalyticsEngineDataPoint => ({
  indexes: [s.destination],
  blobs: [s.reporter, s.source, s.destination, s.version, s.route, String(s.code), s.mirror ? "mirror" : ""],
  doubles: [s.count, s.sumMs, s.retries],
});

const MIRRORS = "\u0000mirrors"; // a shard key no service name can be

/** The mesh's service names, parsed once per isolate (TOPOLOGY is fixed at deploy). */
let services: { topology: string; names: ReadonlySet<string> } | undefined;
function serviceNames(env: ControlEnv): ReadonlySet<string> {
  if (services?.topology !== env.TOPOLOGY)
    services = {
      topology: env.TOPOLOGY,
      names: new Set(Topology.parse(JSON.parse(env.TOPOLOGY)).services.map((s) => s.name)),
    };
  return services.names;
}

/** The RPC entrypoint edges reach through their CONTROL binding (never the admin API). */
export class MeshControl extends WorkerEntrypoint<ControlEnv> {
  beacon(): Promise<Beacon> {
    return configStore(this.env).beacon();
  }

  snapshot(edge: string, hash: string): Promise<string | null> {
    return configStore(this.env).snapshotBody(edge, hash);
  }

  async report(input: TelemetryBatch): Promise<void> {
    const batch = TelemetryBatch.parse(input);
    const byShard = new Map<string, TelemetryBatch["series"]>();
    for (const s of batch.series) {
      const shard = s.mirror ? MIRRORS : shardOf(s, serviceNames(this.env));
      byShard.set(shard, [...(byShard.get(shard) ?? []), s]);
    }
    await Promise.all([
      ...[batch.report, ...(batch.reports ?? [])].map((r) => configStore(this.env).report(r)),
      ...[...byShard].map(([shard, series]) =>
        (shard === MIRRORS ? mirrorStore(this.env) : telemetryOf(this.env, shard)).ingest(series, batch.windowStart),
      ),
      batch.spans.length ? traceStore(this.env).addSpans(batch.spans) : undefined,
      batch.explains.length ? explainStore(this.env).add(batch.explains) : undefined,
    ]);
    if (this.env.OTLP_ENDPOINT && batch.spans.length)
      this.ctx.waitUntil(exportSpans(this.env.OTLP_ENDPOINT, batch.spans));
    if (this.env.ANALYTICS) for (const s of batch.series) this.env.ANALYTICS.writeDataPoint(dataPoint(s));
  }

  async verifyDebugToken(token: string): Promise<boolean> {
    return (await principalOf(this.env, token)) !== undefined;
  }
}
