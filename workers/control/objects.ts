import type { MetricSeries } from "../../shared/control-api.ts";
import type { Topology } from "../../shared/manifest/topology.ts";
import { EGRESS, GATEWAY } from "../../shared/names.ts";
import { collectorCount, collectorName } from "../../shared/telemetry/collectors.ts";
import type { ControlEnv } from "./env.ts";

// The control plane's Durable Objects, by name: one ConfigStore, one Telemetry object per
// destination service (and "traces", "mirrors"), one ExplainStore, and each reporter's collectors.

export const configStore = (env: ControlEnv) => env.CONFIG_STORE.getByName("config");
export const telemetryOf = (env: ControlEnv, service: string) => env.TELEMETRY.getByName(`service:${service}`);
/**
 * Series are kept by destination service; calls to ExternalServices in the egress edge's own shard
 * (their names are not services); and what names no service of the mesh in the gateway's: requests
 * it refused before choosing one (404 no_route, 401, 403, 429: destination "unknown"), which a
 * shard per destination would otherwise keep where no read looks.
 */
export const shardOf = (s: MetricSeries, services: ReadonlySet<string>) =>
  s.reporter === EGRESS ? EGRESS : services.has(s.destination) ? s.destination : GATEWAY;
/** Every shard a mesh's series can be in. */
export const shardsOf = (t: Topology) => [...t.services.map((s) => s.name), GATEWAY, ...(t.egress ? [EGRESS] : [])];
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
export const storeOf = (s: MetricSeries, services: ReadonlySet<string>) => (s.mirror ? MIRRORS : shardOf(s, services));
export const seriesStore = (env: ControlEnv, store: string) =>
  store === MIRRORS ? mirrorStore(env) : telemetryOf(env, store);

/**
 * The collector an isolate reports to (shared/telemetry/collectors.ts), with its name: one of its
 * reporter's, the Worker whose binding it calls through (`who`, from the binding's props).
 */
export function collectorOf(env: ControlEnv, who: string, isolate: string) {
  const name = collectorName(who, isolate, collectorCount(env.TELEMETRY_COLLECTORS));
  return { name, stub: env.COLLECTORS.getByName(name) };
}
