import { INLINE_PIPELINES, PIPELINES, type StageName } from "../../shared/pipeline.ts";
import { budgetFor } from "../../shared/resilience/retry-budget.ts";
import { RouteTable } from "../../shared/routing/match.ts";
import type { Snapshot } from "../../shared/snapshot/schema.ts";
import type { EdgeEnv } from "./env.ts";
import { type Exchange, SKIP, type Stage } from "./exchange.ts";
import type { ResilienceState } from "./resilience/state.ts";
import { type AuthnState, authenticate } from "./stages/authenticate.ts";
import { backendFilters } from "./stages/backend-filters.ts";
import { authorize } from "./stages/authorize.ts";
import { concurrency } from "./stages/concurrency.ts";
import { egress } from "./stages/egress.ts";
import { errors } from "./stages/errors.ts";
import { fault } from "./stages/fault.ts";
import { filters } from "./stages/filters.ts";
import { forward } from "./stages/forward.ts";
import { mirror } from "./stages/mirror.ts";
import { normalize } from "./stages/normalize.ts";
import { outlier } from "./stages/outlier.ts";
import { type GlobalLimiter, rateLimit } from "./stages/rate-limit.ts";
import { respond } from "./stages/respond.ts";
import { route } from "./stages/route.ts";
import { split } from "./stages/split.ts";
import { telemetry } from "./stages/telemetry.ts";
import type { TelemetryRecorder } from "./telemetry/recorder.ts";
import { telemetrySink } from "./telemetry/record.ts";
import { upstreamFor } from "./upstream.ts";
import { identity } from "./stages/identity.ts";
import { app, type AppHandler } from "./stages/app.ts";

export type Pipeline = (x: Exchange) => Promise<Response>;

/** What every pipeline shares across snapshots: per-isolate state that must survive a config change. */
export type EdgeServices = {
  env: EdgeEnv;
  recorder: TelemetryRecorder;
  flush: (ctx: ExecutionContext) => void;
  accessLogRate: number;
  resilience: ResilienceState;
  authn: AuthnState;
  globalLimiter?: GlobalLimiter;
};

/**
 * The edge's filter chain for one snapshot, in the order shared/pipeline.ts declares for its role
 * (the compiler checks both the names and that each stage gets what it needs). Each stage is built
 * once from the snapshot; a new snapshot builds a new chain. Adding a concern adds a file under
 * stages/, its name in shared/pipeline.ts and a line here.
 */
export function buildPipeline(snapshot: Snapshot, s: EdgeServices): Pipeline {
  const table = new RouteTable(snapshot.vhosts, snapshot);
  const upstream = upstreamFor(snapshot, s.env);
  const sink = telemetrySink(snapshot, s.recorder, s.accessLogRate, s.flush);
  const last = forward(upstream, (b) =>
    s.resilience.budget(`${snapshot.edge}|${b.service}`, budgetFor(snapshot, b.service).budget),
  );
  if (snapshot.role === "egress")
    return chain(PIPELINES.egress)
      .then("telemetry", telemetry(sink))
      .then("respond", respond(snapshot))
      .then("errors", errors())
      .then("normalize", normalize(snapshot))
      .then("authn", authenticate(snapshot, s.authn))
      .then("egress", egress(snapshot, table))
      .then("authz", authorize(snapshot))
      .then("fault", fault(snapshot))
      .then("ratelimit", rateLimit(snapshot, s.resilience, s.globalLimiter))
      .then("outlier", outlier(snapshot, s.resilience))
      .then("split", split(snapshot))
      .then("concurrency", concurrency(snapshot, s.resilience))
      .then("forward", last)
      .build();
  return chain(PIPELINES[snapshot.role])
    .then("telemetry", telemetry(sink))
    .then("respond", respond(snapshot))
    .then("errors", errors())
    .then("normalize", normalize(snapshot))
    .then("authn", authenticate(snapshot, s.authn))
    .then("authz", authorize(snapshot))
    .then("route", route(snapshot, table))
    .then("filters", filters())
    .then("fault", fault(snapshot))
    .then("ratelimit", rateLimit(snapshot, s.resilience, s.globalLimiter))
    .then("outlier", outlier(snapshot, s.resilience))
    .then("split", split(snapshot))
    .then("backendFilters", backendFilters())
    .then("mirror", mirror(snapshot, upstream, sink))
    .then("concurrency", concurrency(snapshot, s.resilience))
    .then("forward", last)
    .build();
}

/**
 * Inline outbound (shared/pipeline.ts INLINE_PIPELINES): a service's edge pipeline as its callers
 * run it, in their own isolates, with that service's snapshot: up to the pick of a version and the
 * call of its Worker (the bindings in `s.env`), without the stages only the callee can enforce.
 */
export function buildOutbound(snapshot: Snapshot, s: EdgeServices): Pipeline {
  const table = new RouteTable(snapshot.vhosts, snapshot);
  // The callee's inbound strips what its app sets: the x-isomesh-* headers of its answer are the mesh's.
  const upstream = upstreamFor(snapshot, s.env, { inlineCallee: true });
  const sink = telemetrySink(snapshot, s.recorder, s.accessLogRate, s.flush);
  return chain(INLINE_PIPELINES.outbound)
    .then("telemetry", telemetry(sink))
    .then("respond", respond(snapshot))
    .then("errors", errors())
    .then("normalize", normalize(snapshot))
    .then("identity", identity(snapshot))
    .then("route", route(snapshot, table))
    .then("filters", filters())
    .then("fault", fault(snapshot))
    .then("outlier", outlier(snapshot, s.resilience))
    .then("split", split(snapshot))
    .then("backendFilters", backendFilters())
    .then("mirror", mirror(snapshot, upstream, sink))
    .then("concurrency", concurrency(snapshot, s.resilience))
    .then(
      "forward",
      forward(upstream, (b) =>
        s.resilience.budget(`${snapshot.edge}|${b.service}`, budgetFor(snapshot, b.service).budget),
      ),
    )
    .build();
}

/** Inline inbound: what the callee's isolate enforces before its app's handler runs, as a function call. */
export function buildInbound(snapshot: Snapshot, s: EdgeServices, handler: AppHandler): Pipeline {
  return chain(INLINE_PIPELINES.inbound)
    .then("errors", errors())
    .then("normalize", normalize(snapshot))
    .then("authn", authenticate(snapshot, s.authn))
    .then("authz", authorize(snapshot))
    .then("ratelimit", rateLimit(snapshot, s.resilience, s.globalLimiter))
    .then("app", app(handler))
    .build();
}

type Tail<L> = L extends readonly [unknown, ...infer R extends readonly StageName[]] ? R : readonly [];

/**
 * Puts stages together in a declared order: each `then` must name the next stage of the order and
 * take what the stages before it hand on (a stage before what it needs is a type error), and
 * `build` needs the whole order. A stage with nothing to do for this snapshot (SKIP) is left out.
 */
class Chain<Cur extends Exchange, Rest extends readonly StageName[]> {
  // The stages' own types were checked as they were added; composed, each passes on what it got.
  constructor(private readonly stages: Stage<Exchange, Exchange>[]) {}

  then<Out extends Cur>(_name: Rest[0], stage: Stage<Cur, Out>): Chain<Out, Tail<Rest>> {
    return new Chain(
      (stage as unknown) === SKIP ? this.stages : [...this.stages, stage as unknown as Stage<Exchange, Exchange>],
    );
  }

  build(this: Chain<Cur, readonly []>): Pipeline {
    const end: Pipeline = () => Promise.reject(new Error("the last stage did not answer"));
    return this.stages.reduceRight<Pipeline>((next, stage) => (x) => stage(x, next), end);
  }
}

const chain = <R extends readonly StageName[]>(_order: R) => new Chain<Exchange, R>([]);
