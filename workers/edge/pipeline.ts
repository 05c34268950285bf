import { RouteTable } from "../../shared/routing/match.ts";
import type { Snapshot } from "../../shared/snapshot/schema.ts";
import type { EdgeEnv } from "./env.ts";
import type { Exchange, Stage } from "./exchange.ts";
import { forwardHooks } from "./resilience/hooks.ts";
import type { ResilienceState } from "./resilience/state.ts";
import { concurrency } from "./stages/concurrency.ts";
import { egress } from "./stages/egress.ts";
import { type AuthnState, authenticate } from "./stages/authenticate.ts";
import { authorize } from "./stages/authorize.ts";
import { errors } from "./stages/errors.ts";
import { fault } from "./stages/fault.ts";
import { filters } from "./stages/filters.ts";
import { mirror } from "./stages/mirror.ts";
import { normalize } from "./stages/normalize.ts";
import { type GlobalLimiter, rateLimit } from "./stages/rate-limit.ts";
import { forward } from "./stages/forward.ts";
import { respond } from "./stages/respond.ts";
import { route } from "./stages/route.ts";
import { split } from "./stages/split.ts";
import { telemetry } from "./stages/telemetry.ts";
import type { TelemetryRecorder } from "./telemetry/recorder.ts";
import { telemetrySink } from "./telemetry/record.ts";
import { upstreamFor } from "./upstream.ts";

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
 * The edge's filter chain, in order. Each stage is built once from the snapshot; a new snapshot
 * builds a new chain. Adding a concern adds a file under stages/ and a line here.
 */
export function buildPipeline(snapshot: Snapshot, s: EdgeServices): Pipeline {
  const table = new RouteTable(snapshot.vhosts);
  const upstream = upstreamFor(snapshot, s.env);
  const sink = telemetrySink(snapshot, s.recorder, s.accessLogRate, s.flush);
  if (snapshot.role === "egress")
    // The egress edge checks the allow-list (ExternalService hosts, then ports) before authorization.
    return compose([
      telemetry(sink),
      respond(snapshot),
      errors(),
      normalize(snapshot),
      route(snapshot, table),
      egress(snapshot),
      authorize(snapshot),
      fault(snapshot),
      rateLimit(snapshot, s.resilience, s.globalLimiter),
      split(snapshot, s.resilience),
      concurrency(snapshot, s.resilience),
      forward(upstream, forwardHooks(snapshot, s.resilience)),
    ]);
  return compose([
    telemetry(sink),
    respond(snapshot),
    errors(),
    normalize(snapshot),
    authenticate(snapshot, s.authn),
    authorize(snapshot),
    route(snapshot, table),
    filters(),
    fault(snapshot),
    rateLimit(snapshot, s.resilience, s.globalLimiter),
    split(snapshot, s.resilience),
    mirror(snapshot, upstream, sink),
    concurrency(snapshot, s.resilience),
    forward(upstream, forwardHooks(snapshot, s.resilience)),
  ]);
}

export function compose(stages: Stage[]): Pipeline {
  const end: Pipeline = () => Promise.reject(new Error("the last stage did not answer"));
  return stages.reduceRight<Pipeline>((next, stage) => (x) => stage(x, () => next(x)), end);
}
