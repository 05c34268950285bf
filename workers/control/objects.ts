import type { EdgeReport, MetricSeries } from "../../shared/control-api.ts";
import type { Topology } from "../../shared/manifest/topology.ts";
import { EGRESS } from "../../shared/names.ts";
import { collectorCount, collectorName } from "../../shared/telemetry/collectors.ts";
import type { ControlEnv } from "./env.ts";

// The control plane's Durable Objects, by name: one ConfigStore, one Telemetry object per
// destination service (and "traces", "mirrors"), one ExplainStore, and each edge's collectors.

export const configStore = (env: ControlEnv) => env.CONFIG_STORE.getByName("config");
export const telemetryOf = (env: ControlEnv, service: string) => env.TELEMETRY.getByName(`service:${service}`);
/** Series are kept by destination service; calls to ExternalServices in the egress edge's own shard (their names are not services). */
export const shardOf = (s: MetricSeries) => (s.reporter === EGRESS ? EGRESS : s.destination);
/** Every shard a mesh's series can be in. */
export const shardsOf = (t: Topology) => [...t.services.map((s) => s.name), ...(t.egress ? [EGRESS] : [])];
export const traceStore = (env: ControlEnv) => env.TELEMETRY.getByName("traces");
/**
 * RequestMirror copies of the whole mesh, in one object of their own: counted apart from real
 * traffic without a column of their own in the shards, read with one more call. Mirroring is a
 * test-time share of traffic; should it outgrow one object, shard it by destination like the rest.
 */
export const mirrorStore = (env: ControlEnv) => env.TELEMETRY.getByName("mirrors");
export const explainStore = (env: ControlEnv) => env.EXPLAIN.getByName("explain");

/** A store name no service can have: the mirrors object. */
export const MIRRORS = "\u0000mirrors";
/** The store a series goes to: its shard, or the mirrors object for a RequestMirror's copies. */
export const storeOf = (s: MetricSeries) => (s.mirror ? MIRRORS : shardOf(s));
export const seriesStore = (env: ControlEnv, store: string) =>
  store === MIRRORS ? mirrorStore(env) : telemetryOf(env, store);

/** The collector an isolate reports to (shared/telemetry/collectors.ts), with its name. */
export function collectorOf(env: ControlEnv, report: Pick<EdgeReport, "edge" | "isolate">) {
  const name = collectorName(report.edge, report.isolate, collectorCount(env.TELEMETRY_COLLECTORS));
  return { name, stub: env.COLLECTORS.getByName(name) };
}
