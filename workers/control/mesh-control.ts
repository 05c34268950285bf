import { WorkerEntrypoint } from "cloudflare:workers";
import { type ReportAnswer, TelemetryBatch } from "../../shared/control-api.ts";
import type { Beacon } from "../../shared/snapshot/distribution.ts";
import type { ControlEnv } from "./env.ts";
import { principalOf } from "./api/auth.ts";
import { collectorOf, configStore } from "./objects.ts";
import { toOtlp } from "../../shared/telemetry/otlp.ts";
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

/** The RPC entrypoint edges reach through their CONTROL binding (never the admin API). */
export class MeshControl extends WorkerEntrypoint<ControlEnv> {
  beacon(): Promise<Beacon> {
    return configStore(this.env).beacon();
  }

  snapshot(edge: string, hash: string): Promise<string | null> {
    return configStore(this.env).snapshotBody(edge, hash);
  }

  /** An isolate's batch goes whole to its edge's collector (objects.ts), which passes it on. */
  async report(input: TelemetryBatch): Promise<ReportAnswer> {
    const batch = TelemetryBatch.parse(input);
    const collector = collectorOf(this.env, batch.report);
    const answer = await collector.stub.add(collector.name, batch);
    if (this.env.OTLP_ENDPOINT && batch.spans.length)
      this.ctx.waitUntil(exportSpans(this.env.OTLP_ENDPOINT, batch.spans));
    if (this.env.ANALYTICS) for (const s of batch.series) this.env.ANALYTICS.writeDataPoint(dataPoint(s));
    return answer;
  }

  async verifyDebugToken(token: string): Promise<boolean> {
    return (await principalOf(this.env, token)) !== undefined;
  }
}
