import { WorkerEntrypoint } from "cloudflare:workers";
import type { EdgeReport } from "../../shared/control-api.ts";
import { DecisionLog, NO_RECORD } from "../../shared/explain/record.ts";
import { H } from "../../shared/headers.ts";
import { explainRequested } from "../dataplane/debug.ts";
import type { EdgeEnv, EdgeProps } from "../dataplane/env.ts";
import { createExchange } from "../dataplane/inbound.ts";
import { buildPipeline, type EdgeServices, type Pipeline } from "../dataplane/pipeline.ts";
import { forwardingEntrypoint, type RpcInvocation } from "../dataplane/rpc/entrypoint.ts";
import { buildRpcPipeline, type RpcPipeline } from "../dataplane/rpc/pipeline.ts";
import { CONTROL } from "../../shared/names.ts";
import type { Snapshot } from "../../shared/snapshot/schema.ts";
import { SnapshotSource } from "../dataplane/snapshot-source.ts";
import { TelemetryFlusher } from "../dataplane/telemetry/flusher.ts";
import { TelemetryRecorder } from "../dataplane/telemetry/recorder.ts";
import { randomHex } from "../dataplane/trace.ts";
import { ResilienceState } from "../dataplane/resilience/state.ts";
import { globalLimiter } from "../dataplane/global-limiter.ts";
import type { RemoteJwks } from "../../shared/security/jwks.ts";
import bootstrap from "./bootstrap.snapshot";
import inlineSnapshots from "./inline.snapshot";
import { withInlineCallees } from "./inline-callees.ts";
import type { InlineRuntime } from "../dataplane/runtime.ts";

// Per-isolate state: the snapshot with its built pipeline, and the telemetry buffers.
let isolateId: string | undefined; // random values are only allowed inside handlers
const isolate = () => (isolateId ??= randomHex(6));
const recorder = new TelemetryRecorder();
const resilience = new ResilienceState();
// Remote JWKS outlive snapshots (a config push does not refetch keys); verified tokens do not (see authenticate).
const authn = {
  remotes: new Map<string, RemoteJwks>(),
  fetcher: (url: string) => fetch(url, { signal: AbortSignal.timeout(5000) }),
};
let source: SnapshotSource<Pipeline> | undefined;
let flusher: TelemetryFlusher | undefined;
// The gateway's inline callees (services whose stages run in their apps): their outbound half runs here.
let inline: { runtime?: InlineRuntime } | undefined;
let services: EdgeServices | undefined;

function sourceFor(raw: EdgeEnv): SnapshotSource<Pipeline> {
  if (source) return source;
  const callees = withInlineCallees(raw, JSON.parse(inlineSnapshots || "[]"), isolate);
  inline = callees;
  const env = callees.env;
  const f = (flusher = new TelemetryFlusher(
    recorder,
    () => source?.report(isolate()),
    (batch) => env.CONTROL.report(batch),
  ));
  const flush = (ctx: ExecutionContext) => f.flush(ctx);
  const s = (services = {
    env,
    recorder,
    flush,
    accessLogRate: accessLogRate(env.ACCESS_LOG),
    resilience,
    globalLimiter: globalLimiter(env),
    authn,
  });
  source = new SnapshotSource(
    env,
    (snapshot) => buildPipeline(snapshot, s),
    () => recorder.touch(),
    flush, // a snapshot installed in the background is reported now, not on the next request
    bootstrap,
  );
  return source;
}

/** A share from 0 to 1 in a var ("on" = 1, "off" = 0); unset or unreadable means every request. */
function rate(setting: string | undefined): number {
  if (setting === "off") return 0;
  const n = Number(setting);
  return setting === undefined || setting === "" || setting === "on" || !Number.isFinite(n)
    ? 1
    : Math.min(1, Math.max(0, n));
}
const accessLogRate = rate;
let sampling: number | undefined;
const traceSampling = (env: EdgeEnv) => (sampling ??= rate(env.TRACE_SAMPLING));

/**
 * The isomesh edge: deployed once per service (`<svc>-edge`) and once as the `gateway`.
 * Callers reach it through service bindings whose props say who they are. Besides `fetch`, every
 * method a caller calls on its binding (Workers RPC) goes through the mesh to the picked version:
 * nothing else may live on this class, since its methods share the apps' names.
 */
export default class Edge extends WorkerEntrypoint<EdgeEnv, EdgeProps> {
  constructor(ctx: ExecutionContext<EdgeProps>, env: EdgeEnv) {
    super(ctx, env);
    return forwardingEntrypoint(this, (call) => rpc(env, ctx, call));
  }

  override async fetch(request: Request): Promise<Response> {
    const src = sourceFor(this.env);
    const { snapshot, prepared } = src.ready(this.ctx) ?? (await src.get(this.ctx));
    const explain =
      request.headers.has(H.debug) || request.headers.has(H.tracestate)
        ? await explainRequested(request, snapshot, this.env)
        : false;
    const x = createExchange(
      request,
      this.ctx,
      this.ctx.props,
      snapshot,
      explain ? new DecisionLog(true) : NO_RECORD,
      traceSampling(this.env),
    );
    if (explain && snapshot.role === "gateway") x.responseHooks.push((h) => h.set(H.explain, x.trace.traceId));
    return prepared(x); // the telemetry stage records the request (and, when asked, its decisions)
  }
}

async function rpc(env: EdgeEnv, ctx: ExecutionContext<EdgeProps>, call: RpcInvocation): Promise<unknown> {
  const src = sourceFor(env);
  const { snapshot } = src.ready(ctx) ?? (await src.get(ctx));
  return rpcPipelineFor(snapshot, services!, traceSampling(env))(call, ctx, ctx.props);
}

// The RPC path is built once per snapshot, as the fetch pipeline is.
let rpcBuilt: { snapshot: Snapshot; pipeline: RpcPipeline } | undefined;
function rpcPipelineFor(snapshot: Snapshot, s: EdgeServices, sampling: number): RpcPipeline {
  if (rpcBuilt?.snapshot !== snapshot) rpcBuilt = { snapshot, pipeline: buildRpcPipeline(snapshot, s, sampling) };
  return rpcBuilt.pipeline;
}

/** The control plane's way in (its bindings name this entrypoint): the default one belongs to the apps' methods. */
export class EdgeControl extends WorkerEntrypoint<EdgeEnv, EdgeProps> {
  /** Control-plane nudge for an inline service's change: the snapshots of inline callees this gateway holds. */
  async refreshInline(): Promise<EdgeReport[]> {
    if (this.ctx.props?.caller !== CONTROL) throw new Error("isomesh not_via_mesh: refresh() is the control plane's");
    sourceFor(this.env);
    return inline?.runtime ? inline.runtime.refresh(this.ctx) : [];
  }

  /** Control-plane nudge after a change: re-read the beacon now and report what runs. */
  async refresh(): Promise<EdgeReport> {
    if (this.ctx.props?.caller !== CONTROL) throw new Error("isomesh not_via_mesh: refresh() is the control plane's");
    const src = sourceFor(this.env);
    if (!src.snapshot) await src.get(this.ctx);
    await src.check(true);
    await flusher?.flushNow(this.ctx);
    return src.report(isolate());
  }
}
