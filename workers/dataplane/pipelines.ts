import { MeshError } from "../../shared/errors.ts";
import { INLINE_PIPELINES, PIPELINES, RPC_INLINE_PIPELINES, RPC_PIPELINE } from "../../shared/pipeline.ts";
import { budgetFor } from "../../shared/resilience/retry-budget.ts";
import { RouteTable } from "../../shared/routing/match.ts";
import type { CompiledBackend } from "../../shared/routing/split.ts";
import type { Snapshot } from "../../shared/snapshot/schema.ts";
import { chain } from "./chain.ts";
import type { CallExchange, Called, Exchange, FetchExchange } from "./exchange.ts";
import type { ResilienceState } from "./resilience/state.ts";
import { app, type AppHandler } from "./stages/app.ts";
import { type AuthnState, authenticate } from "./stages/authenticate.ts";
import { authorize } from "./stages/authorize.ts";
import { backendFilters } from "./stages/backend-filters.ts";
import { concurrency } from "./stages/concurrency.ts";
import { cors } from "./stages/cors.ts";
import { egress } from "./stages/egress.ts";
import { extAuthz, type ProviderReach } from "./stages/ext-authz.ts";
import { errors } from "./stages/errors.ts";
import { fault } from "./stages/fault.ts";
import { filters } from "./stages/filters.ts";
import { forward } from "./stages/forward.ts";
import { identity } from "./stages/identity.ts";
import { mirror } from "./stages/mirror.ts";
import { normalize } from "./stages/normalize.ts";
import { outlier } from "./stages/outlier.ts";
import { type GlobalLimiter, rateLimit } from "./stages/rate-limit.ts";
import { respond } from "./stages/respond.ts";
import { route } from "./stages/route.ts";
import { split } from "./stages/split.ts";
import { telemetry } from "./stages/telemetry.ts";
import { telemetrySink } from "./telemetry/sink.ts";
import type { TelemetryRecorder } from "./telemetry/recorder.ts";
import { type Reach, upstreamFor } from "./upstream.ts";

export type Pipeline = (x: FetchExchange) => Promise<Response>;
export type CallPipeline = (x: CallExchange) => Promise<Called>;
/** What one snapshot runs: its fetch pipeline and its Workers RPC path, built once when it is installed. */
export type Pipelines = { fetch: Pipeline; call: CallPipeline };

/** What every pipeline shares across snapshots: per-isolate state that must survive a config change, and how the host reaches backends. */
export type Services = {
  recorder: TelemetryRecorder;
  flush: (ctx: ExecutionContext) => void;
  accessLogRate: number;
  resilience: ResilienceState;
  authn: AuthnState;
  globalLimiter?: GlobalLimiter;
  /** How this host reaches a backend's Worker (injected: the core never asks which host it runs in). */
  reach: Reach;
  /** How this host reaches an external authorization provider's service (CUSTOM policies); absent: none is reachable. */
  provider?: ProviderReach;
  /** isomesh dev only: the secret a service edge shows its apps (scripts/lib/entry-guard.ts). */
  devGuard?: string;
};

/** What the per-snapshot parts of a pipeline share. */
function parts(snapshot: Snapshot, s: Services) {
  const table = new RouteTable(snapshot.vhosts, snapshot);
  const upstream = upstreamFor(snapshot, s.reach, s.devGuard);
  const sink = telemetrySink(snapshot, s.recorder, s.accessLogRate, s.flush);
  const budget = (b: CompiledBackend) =>
    s.resilience.budget(`${snapshot.edge}|${b.service}`, budgetFor(snapshot, b.service).budget);
  return { table, upstream, sink, budget };
}

const NO_PROVIDER: ProviderReach = () => undefined;

const refuseCalls =
  (snapshot: Snapshot): CallPipeline =>
  () =>
    Promise.reject(
      new MeshError(
        "no_route",
        `Workers RPC reaches a service through its binding (calls: in the manifest), not ${snapshot.edge}`,
      ),
    );

/**
 * An edge's chain for one snapshot, in the order shared/pipeline.ts declares for its role (the
 * compiler checks both the names and that each stage gets what it needs), and a service edge's
 * Workers RPC path over the same stages (RPC_PIPELINE). Each stage is built once from the snapshot;
 * a new snapshot builds new pipelines. Adding a concern adds a file under stages/, its name in
 * shared/pipeline.ts and a line here.
 */
export function buildEdge(snapshot: Snapshot, s: Services): Pipelines {
  const p = parts(snapshot, s);
  if (snapshot.role === "egress")
    return {
      fetch: chain<FetchExchange, Response, typeof PIPELINES.egress>(PIPELINES.egress)
        .then("telemetry", telemetry(p.sink))
        .then("respond", respond(snapshot))
        .then("errors", errors())
        .then("normalize", normalize(snapshot))
        .then("authn", authenticate(snapshot, s.authn))
        .then("egress", egress(snapshot, p.table))
        .then("authz", authorize(snapshot))
        .then("fault", fault(snapshot))
        .then("ratelimit", rateLimit(snapshot, s.resilience, s.globalLimiter))
        .then("outlier", outlier(snapshot, s.resilience))
        .then("split", split(snapshot))
        .then("concurrency", concurrency(snapshot, s.resilience))
        .then("forward", forward(snapshot, p.upstream, p.budget))
        .build(),
      call: refuseCalls(snapshot),
    };
  const fetch = chain<FetchExchange, Response, typeof PIPELINES.service>(PIPELINES[snapshot.role])
    .then("telemetry", telemetry(p.sink))
    .then("respond", respond(snapshot))
    .then("errors", errors())
    .then("normalize", normalize(snapshot))
    .then("cors", cors(snapshot, p.table))
    .then("authn", authenticate(snapshot, s.authn))
    .then("extAuthz", extAuthz(snapshot, s.provider ?? NO_PROVIDER))
    .then("authz", authorize(snapshot))
    .then("route", route(snapshot, p.table))
    .then("filters", filters())
    .then("fault", fault(snapshot))
    .then("ratelimit", rateLimit(snapshot, s.resilience, s.globalLimiter))
    .then("outlier", outlier(snapshot, s.resilience))
    .then("split", split(snapshot))
    .then("backendFilters", backendFilters())
    .then("mirror", mirror(snapshot, p.upstream, p.sink))
    .then("concurrency", concurrency(snapshot, s.resilience))
    .then("forward", forward(snapshot, p.upstream, p.budget))
    .build();
  if (snapshot.role !== "service") return { fetch, call: refuseCalls(snapshot) };
  const call = chain<CallExchange, Called, typeof RPC_PIPELINE>(RPC_PIPELINE)
    .then("telemetry", telemetry(p.sink))
    .then("extAuthz", extAuthz(snapshot, s.provider ?? NO_PROVIDER))
    .then("authz", authorize(snapshot))
    .then("route", route(snapshot, p.table))
    .then("fault", fault(snapshot))
    .then("ratelimit", rateLimit(snapshot, s.resilience, s.globalLimiter))
    .then("outlier", outlier(snapshot, s.resilience))
    .then("split", split(snapshot))
    .then("concurrency", concurrency(snapshot, s.resilience))
    .then("forward", forward(snapshot, p.upstream, p.budget))
    .build();
  return { fetch, call };
}

/**
 * Inline outbound (shared/pipeline.ts INLINE_PIPELINES): a service's edge pipeline as its callers
 * run it, in their own isolates, with that service's snapshot: up to the pick of a version and the
 * call of its Worker, without the stages only the callee can enforce. The same for an RPC call.
 */
export function buildOutbound(snapshot: Snapshot, s: Services): Pipelines {
  const p = parts(snapshot, s);
  const fetch = chain<FetchExchange, Response, typeof INLINE_PIPELINES.outbound>(INLINE_PIPELINES.outbound)
    .then("telemetry", telemetry(p.sink))
    .then("respond", respond(snapshot))
    .then("errors", errors())
    .then("normalize", normalize(snapshot))
    .then("cors", cors(snapshot, p.table))
    .then("identity", identity(snapshot))
    .then("route", route(snapshot, p.table))
    .then("filters", filters())
    .then("fault", fault(snapshot))
    .then("outlier", outlier(snapshot, s.resilience))
    .then("split", split(snapshot))
    .then("backendFilters", backendFilters())
    .then("mirror", mirror(snapshot, p.upstream, p.sink))
    .then("concurrency", concurrency(snapshot, s.resilience))
    .then("forward", forward(snapshot, p.upstream, p.budget))
    .build();
  const call = chain<CallExchange, Called, typeof RPC_INLINE_PIPELINES.outbound>(RPC_INLINE_PIPELINES.outbound)
    .then("telemetry", telemetry(p.sink))
    .then("route", route(snapshot, p.table))
    .then("fault", fault(snapshot))
    .then("outlier", outlier(snapshot, s.resilience))
    .then("split", split(snapshot))
    .then("concurrency", concurrency(snapshot, s.resilience))
    .then("forward", forward(snapshot, p.upstream, p.budget))
    .build();
  return { fetch, call };
}

/** Inline inbound: what the callee's isolate enforces before its app's handler (or RPC method) runs, as a function call. */
export function buildInbound(snapshot: Snapshot, s: Services, handler: (x: Exchange) => AppHandler): Pipelines {
  const fetch = chain<FetchExchange, Response, typeof INLINE_PIPELINES.inbound>(INLINE_PIPELINES.inbound)
    .then("errors", errors())
    .then("normalize", normalize(snapshot))
    .then("authn", authenticate(snapshot, s.authn))
    .then("extAuthz", extAuthz(snapshot, s.provider ?? NO_PROVIDER))
    .then("authz", authorize(snapshot))
    .then("ratelimit", rateLimit(snapshot, s.resilience, s.globalLimiter))
    .then("app", app(handler))
    .build();
  const call = chain<CallExchange, Called, typeof RPC_INLINE_PIPELINES.inbound>(RPC_INLINE_PIPELINES.inbound)
    .then("extAuthz", extAuthz(snapshot, s.provider ?? NO_PROVIDER))
    .then("authz", authorize(snapshot))
    .then("ratelimit", rateLimit(snapshot, s.resilience, s.globalLimiter))
    .then("app", app(handler))
    .build();
  return { fetch, call };
}
