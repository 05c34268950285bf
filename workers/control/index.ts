import { createAdminApi } from "./api/app.ts";
import type { ControlEnv } from "./env.ts";

export { ConfigStore } from "./config-store/config-store.ts";
export { Telemetry } from "./telemetry/telemetry.ts";
export { MeshControl } from "./mesh-control.ts";
export { ExplainStore } from "./explain/explain-store.ts";
export { TelemetryCollector } from "./telemetry/collector.ts";
export { RateLimiter } from "./rate-limiter.ts";

const app = createAdminApi();

/** The control worker: the admin API over HTTP, plus the MeshControl RPC entrypoint for edges. */
export default { fetch: app.fetch } satisfies ExportedHandler<ControlEnv>;
