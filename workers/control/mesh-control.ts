import { WorkerEntrypoint } from "cloudflare:workers";
import { ControlCaller, type ReportAnswer, TelemetryBatch } from "../../shared/control-api.ts";
import { Topology } from "../../shared/manifest/topology.ts";
import type { ControlEnv } from "./env.ts";
import { signedBeacon } from "./beacon-signer.ts";
import { admit, reportScope, type ReportScope } from "./report-scope.ts";
import { principalOf } from "./api/auth.ts";
import { collectorOf, configStore } from "./objects.ts";
import { toOtlp } from "../../shared/telemetry/otlp.ts";
import { FLUSH_INTERVAL_MS } from "../../shared/telemetry/pacing.ts";
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

let topology: { text: string; value: Topology; services: ReadonlySet<string> } | undefined;
/** The mesh's topology and service names, parsed once per isolate (TOPOLOGY is fixed at deploy). */
const parsedTopology = (env: ControlEnv) => {
  if (topology?.text !== env.TOPOLOGY) {
    const value = Topology.parse(JSON.parse(env.TOPOLOGY));
    topology = { text: env.TOPOLOGY, value, services: new Set(value.services.map((s) => s.name)) };
  }
  return topology;
};
const topologyOf = (env: ControlEnv) => parsedTopology(env).value;

/** The Worker a binding's props name (an edge, or an app's `service/version`), whose collectors its isolates report to. */
function reporterOf(props: unknown): string | undefined {
  const caller = ControlCaller.safeParse(props);
  if (!caller.success) return undefined;
  return "edge" in caller.data ? caller.data.edge : `${caller.data.service}/${caller.data.version}`;
}

/**
 * The RPC entrypoint edges reach through their CONTROL binding (never the admin API). Who calls is
 * the binding's props (`isomesh gen` sets them); in inline mode the binding sits in an app's Worker,
 * where the app's own code can call it too, so everything here is held to that identity's scope.
 */
export class MeshControl extends WorkerEntrypoint<ControlEnv, ControlCaller> {
  /** The signed beacon: the version and shard hashes, nothing an app could not read from the cache anyway. */
  async beacon(): Promise<string> {
    return signedBeacon(this.env, topologyOf(this.env).mesh, await configStore(this.env).beacon());
  }

  /** A snapshot of an edge whose snapshot the caller holds (an app cannot read another service's config here). */
  async snapshot(edge: string, hash: string): Promise<string | null> {
    const scope = this.scope();
    if (!scope.edges.has(edge)) throw new Error(`isomesh not_in_scope: ${scope.who} holds no snapshot of ${edge}`);
    return configStore(this.env).snapshotBody(edge, hash);
  }

  /** An isolate's batch, held to its binding's scope, goes whole to one of the binding's collectors (objects.ts). */
  async report(input: TelemetryBatch): Promise<ReportAnswer> {
    const scope = this.scope();
    const parsed = TelemetryBatch.parse(input);
    const { admitted: batch, refused } = admit(scope, parsed);
    if (refused.length)
      console.warn(
        JSON.stringify({
          level: "warn",
          msg: "report refused: outside what its binding may send",
          from: scope.who,
          refused: refused.length,
          first: [...new Set(refused)].slice(0, 5),
        }),
      );
    const reporter = reporterOf(this.ctx.props);
    if (!reporter) return { flushIntervalMs: FLUSH_INTERVAL_MS }; // nothing of it was admitted
    const collector = collectorOf(this.env, reporter, parsed.report.isolate);
    const answer = await collector.stub.add(collector.name, parsed.report.isolate, batch);
    if (this.env.OTLP_ENDPOINT && batch.spans.length)
      this.ctx.waitUntil(exportSpans(this.env.OTLP_ENDPOINT, batch.spans));
    if (this.env.ANALYTICS) for (const s of batch.series) this.env.ANALYTICS.writeDataPoint(dataPoint(s));
    return answer;
  }

  /** Yes or no for a whole token (no more than a failed admin API call says), memoized by edges for a minute. */
  async verifyDebugToken(token: string): Promise<boolean> {
    return (await principalOf(this.env, token)) !== undefined;
  }

  /** What this binding's holder may send and read; a binding without (valid) props may send nothing. */
  private scope(): ReportScope {
    const caller = ControlCaller.safeParse(this.ctx.props);
    return caller.success
      ? reportScope(topologyOf(this.env), caller.data)
      : { who: "a binding without isomesh props", edges: new Set() };
  }
}
