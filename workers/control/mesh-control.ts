import { WorkerEntrypoint } from "cloudflare:workers";
import { type Beacon, TelemetryBatch } from "../../shared/control-api.ts";
import type { ControlEnv } from "./env.ts";
import { principalOf } from "./api/auth.ts";

export const configStore = (env: ControlEnv) => env.CONFIG_STORE.getByName("config");
export const telemetryOf = (env: ControlEnv, service: string) => env.TELEMETRY.getByName(`service:${service}`);
export const traceStore = (env: ControlEnv) => env.TELEMETRY.getByName("traces");
export const explainStore = (env: ControlEnv) => env.EXPLAIN.getByName("explain");

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
    const byDestination = new Map<string, TelemetryBatch["series"]>();
    for (const s of batch.series) byDestination.set(s.destination, [...(byDestination.get(s.destination) ?? []), s]);
    await Promise.all([
      configStore(this.env).report(batch.report),
      ...[...byDestination].map(([service, series]) => telemetryOf(this.env, service).ingest(series, batch.windowStart)),
      batch.spans.length ? traceStore(this.env).addSpans(batch.spans) : undefined,
      batch.explains.length ? explainStore(this.env).add(batch.explains) : undefined,
    ]);
  }

  async verifyDebugToken(token: string): Promise<boolean> {
    return (await principalOf(this.env, token)) !== undefined;
  }
}
