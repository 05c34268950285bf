// The hop ladder (scripts/bench/ladder.ts): the edge's own parts added one at a time on top of a bare
// pass-through, cumulatively, each rung a Worker of its own (RUNG var) in its own workerd process.
// Rungs 2… use the data plane's real modules (workers/dataplane), as the edge host assembles them.
import { WorkerEntrypoint } from "cloudflare:workers";
import { RouteTable } from "../../../shared/routing/match.ts";
import { versionBinding } from "../../../shared/names.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import type { EdgeEnv, EdgeProps } from "../../../workers/dataplane/env.ts";
import type { Exchange, FetchExchange, Stage } from "../../../workers/dataplane/exchange.ts";
import { buildEdge, type Pipeline, type Services } from "../../../workers/dataplane/pipelines.ts";
import { DataPlane, type Half } from "../../../workers/dataplane/plane.ts";
import { fetchExchange } from "../../../workers/dataplane/request.ts";
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
import { telemetrySink } from "../../../workers/dataplane/telemetry/sink.ts";
import { bindingTarget, upstreamFor } from "../../../workers/dataplane/upstream.ts";
import { forwardRpc } from "../../../workers/edge/rpc-forwarding.ts";
import { importSigningKey, signBeacon } from "../../../shared/snapshot/signature.ts";

type Env = EdgeEnv & { RUNG: string; SNAPSHOT: string; APP: Fetcher };
// Prefixes of the chain are not orders the compiler knows: composed here without its checks.
type AnyStage = Stage<FetchExchange, FetchExchange, Response>;

const statuses = new Map<number, number>();
let state: { plane: DataPlane; half: Half } | undefined;
let rungs: WeakMap<Snapshot, Pipeline[]> | undefined;

/** The rungs' pipelines for one snapshot: rung n runs the first n parts, then forwards the original request. */
function pipelines(snapshot: Snapshot, s: Services, env: Env): Pipeline[] {
  const table = new RouteTable(snapshot.vhosts, snapshot);
  const sink = telemetrySink(snapshot, s.recorder, 0, s.flush);
  const upstream = upstreamFor(snapshot, s.reach);
  const parts = [
    [telemetry(sink)],
    [respond(snapshot)],
    [errors(), normalize(snapshot)],
    [authenticate(snapshot, s.authn), authorize(snapshot)],
    [route(snapshot, table)],
    [
      filters(),
      fault(snapshot),
      rateLimit(snapshot, s.resilience),
      outlier(snapshot, s.resilience),
      split(snapshot),
      backendFilters(),
      mirror(snapshot, upstream, sink),
      concurrency(snapshot, s.resilience),
    ],
  ] as unknown as AnyStage[][];
  const out: Pipeline[] = [];
  for (let n = 0; n <= parts.length; n++) {
    const stages = parts.slice(0, n).flat();
    // Before respond is added, the terminal makes the observing floor's copy itself.
    const terminal = (x: Exchange) =>
      observe(env.APP.fetch((x as FetchExchange).inbound, { signal: AbortSignal.timeout(15_000) }), n < 2);
    out.push(stages.reduceRight<Pipeline>((next, stage) => (x) => stage(x, next), terminal));
  }
  out.push(buildEdge(snapshot, s).fetch); // + forward and upstream: the whole edge
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

function stateOf(env: Env) {
  if (state) return state;
  const plane = new DataPlane(
    () => "ladder",
    (b) => env.CONTROL.report(b),
    { accessLog: "off", traceSampling: "0.01" },
  );
  rungs = new WeakMap();
  const reach = (b: { version?: string }) => bindingTarget(env[versionBinding(b.version ?? "")] as Fetcher);
  const half = plane.half(
    "edge",
    env,
    env.SNAPSHOT,
    (snapshot, s) => {
      rungs!.set(snapshot, pipelines(snapshot, s, env));
      return buildEdge(snapshot, s);
    },
    reach,
  );
  return (state = { plane, half });
}

export default class Ladder extends WorkerEntrypoint<Env, EdgeProps> {
  override async fetch(request: Request): Promise<Response> {
    const rung = Number(this.env.RUNG);
    if (rung === 0) return this.env.APP.fetch(request);
    if (rung === 1) return observe(this.env.APP.fetch(request, { signal: AbortSignal.timeout(15_000) }), true);
    const { half } = stateOf(this.env);
    const { snapshot } = half.ready(this.ctx) ?? (await half.get(this.ctx));
    if (rung === 2) return observe(this.env.APP.fetch(request, { signal: AbortSignal.timeout(15_000) }), true);
    const x = fetchExchange(request, this.ctx, this.ctx.props, snapshot, undefined, 0.01);
    return rungs!.get(snapshot)![rung - 3](x);
  }
}

// Rungs 0 and 1 are a plain class: the RPC forwarding the edge's class carries is part of rung 2.
class LadderRpc extends Ladder {
  override fetch(request: Request): Promise<Response> {
    return super.fetch(request);
  }
}
forwardRpc(LadderRpc, () => Promise.reject(new Error("no RPC here")));
export { LadderRpc };

/** The control plane as the ladder's edges see it: an empty store (the bootstrap snapshot stays), reports accepted. */
export class Control extends WorkerEntrypoint<{ BEACON_SIGNING_KEY: string }> {
  // Signed as the real one signs, so an edge's check verifies it as in production.
  async beacon() {
    const claims = { version: 0, shards: Array.from({ length: 64 }, () => ""), mesh: "bench", issuedAt: Date.now() };
    return signBeacon(claims, await importSigningKey(this.env.BEACON_SIGNING_KEY));
  }
  snapshot() {
    return null;
  }
  report() {}
  verifyDebugToken() {
    return false;
  }
}
