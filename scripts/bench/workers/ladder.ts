// The hop ladder (scripts/bench/ladder.ts): the edge's own parts added one at a time on top of a bare
// pass-through, cumulatively, each rung a Worker of its own (RUNG var) in its own workerd process.
// Rungs 2… use the edge's real modules, as the edge assembles them (workers/edge/index.ts).
import { WorkerEntrypoint } from "cloudflare:workers";
import { NO_RECORD } from "../../../shared/explain/record.ts";
import { Snapshot } from "../../../shared/snapshot/schema.ts";
import type { EdgeEnv, EdgeProps } from "../../../workers/dataplane/env.ts";
import type { Exchange } from "../../../workers/dataplane/exchange.ts";
import { createExchange } from "../../../workers/dataplane/inbound.ts";
import { buildPipeline, type EdgeServices, type Pipeline } from "../../../workers/dataplane/pipeline.ts";
import { ResilienceState } from "../../../workers/dataplane/resilience/state.ts";
import { forwardingEntrypoint } from "../../../workers/dataplane/rpc/entrypoint.ts";
import { SnapshotSource } from "../../../workers/dataplane/snapshot-source.ts";
import { authenticate } from "../../../workers/dataplane/stages/authenticate.ts";
import { authorize } from "../../../workers/dataplane/stages/authorize.ts";
import { backendFilters } from "../../../workers/dataplane/stages/backend-filters.ts";
import { concurrency } from "../../../workers/dataplane/stages/concurrency.ts";
import { errors } from "../../../workers/dataplane/stages/errors.ts";
import { fault } from "../../../workers/dataplane/stages/fault.ts";
import { filters } from "../../../workers/dataplane/stages/filters.ts";
import { mirror } from "../../../workers/dataplane/stages/mirror.ts";
import { normalize } from "../../../workers/dataplane/stages/normalize.ts";
import { outlier } from "../../../workers/dataplane/stages/outlier.ts";
import { rateLimit } from "../../../workers/dataplane/stages/rate-limit.ts";
import { respond } from "../../../workers/dataplane/stages/respond.ts";
import { route } from "../../../workers/dataplane/stages/route.ts";
import { split } from "../../../workers/dataplane/stages/split.ts";
import { telemetry } from "../../../workers/dataplane/stages/telemetry.ts";
import { TelemetryFlusher } from "../../../workers/dataplane/telemetry/flusher.ts";
import { telemetrySink } from "../../../workers/dataplane/telemetry/record.ts";
import { TelemetryRecorder } from "../../../workers/dataplane/telemetry/recorder.ts";
import { RouteTable } from "../../../shared/routing/match.ts";
import { upstreamFor } from "../../../workers/dataplane/upstream.ts";

type Env = EdgeEnv & { RUNG: string; SNAPSHOT: string; APP: Fetcher };
type AnyStage = (x: Exchange, next: (x: Exchange) => Promise<Response>) => Promise<Response>;

const statuses = new Map<number, number>();
const recorder = new TelemetryRecorder();
const resilience = new ResilienceState();
let source: SnapshotSource<Pipeline[]> | undefined;

/** The rungs' pipelines for one snapshot: rung n runs the first n parts, then forwards the original request. */
function pipelines(snapshot: Snapshot, env: Env): Pipeline[] {
  const flusher = new TelemetryFlusher(
    recorder,
    () => source?.report("ladder"),
    (b) => env.CONTROL.report(b),
  );
  const s: EdgeServices = {
    env,
    recorder,
    flush: (ctx) => flusher.flush(ctx),
    accessLogRate: 0,
    resilience,
    authn: { remotes: new Map(), fetcher: (u) => fetch(u) },
  };
  const table = new RouteTable(snapshot.vhosts, snapshot);
  const sink = telemetrySink(snapshot, recorder, 0, s.flush);
  const upstream = upstreamFor(snapshot, env);
  const parts: AnyStage[][] = [
    [telemetry(sink)],
    [respond(snapshot)],
    [errors(), normalize(snapshot)],
    [authenticate(snapshot, s.authn) as AnyStage, authorize(snapshot) as AnyStage],
    [route(snapshot, table) as AnyStage],
    [
      filters() as AnyStage,
      fault(snapshot),
      rateLimit(snapshot, resilience) as AnyStage,
      outlier(snapshot, resilience) as AnyStage,
      split(snapshot) as AnyStage,
      backendFilters() as AnyStage,
      mirror(snapshot, upstream, sink) as AnyStage,
      concurrency(snapshot, resilience) as AnyStage,
    ],
  ];
  const out: Pipeline[] = [];
  for (let n = 0; n <= parts.length; n++) {
    const stages = parts.slice(0, n).flat();
    // Before respond is added, the terminal makes the observing floor's copy itself.
    const terminal = (x: Exchange) => observe(env.APP.fetch(x.inbound, { signal: AbortSignal.timeout(15_000) }), n < 2);
    out.push(stages.reduceRight<Pipeline>((next, stage) => (x) => stage(x, next), terminal));
  }
  out.push(buildPipeline(snapshot, s)); // + forward and upstream: the whole edge
  return out;
}

/** The observing floor: await the answer, count its status, stamp a header on a copy. */
async function observe(sent: Promise<Response>, copy: boolean): Promise<Response> {
  const res = await sent;
  statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  if (!copy) return res;
  const out = new Response(res.body, res);
  out.headers.set("x-isomesh-attempts", "1");
  return out;
}

export default class Ladder extends WorkerEntrypoint<Env, EdgeProps> {
  constructor(ctx: ExecutionContext<EdgeProps>, env: Env) {
    super(ctx, env);
    if (Number(env.RUNG) >= 2) return forwardingEntrypoint(this, () => Promise.reject(new Error("no RPC here")));
  }

  override async fetch(request: Request): Promise<Response> {
    const rung = Number(this.env.RUNG);
    if (rung === 0) return this.env.APP.fetch(request);
    if (rung === 1) return observe(this.env.APP.fetch(request, { signal: AbortSignal.timeout(15_000) }), true);
    source ??= new SnapshotSource(
      this.env,
      (s) => pipelines(s, this.env),
      () => recorder.touch(),
      () => {},
      this.env.SNAPSHOT,
    );
    const { snapshot, prepared } = source.ready(this.ctx) ?? (await source.get(this.ctx));
    if (rung === 2) return observe(this.env.APP.fetch(request, { signal: AbortSignal.timeout(15_000) }), true);
    const x = createExchange(request, this.ctx, this.ctx.props, snapshot, NO_RECORD, 0.01);
    return prepared[rung - 3](x);
  }
}

/** The control plane as the ladder's edges see it: an empty store (the bootstrap snapshot stays), reports accepted. */
export class Control extends WorkerEntrypoint {
  beacon() {
    return { version: 0, shards: Array.from({ length: 64 }, () => "") };
  }
  snapshot() {
    return null;
  }
  report() {}
  verifyDebugToken() {
    return false;
  }
}
