import type { EdgeReport, TelemetryBatch } from "../../shared/control-api.ts";
import { DecisionLog, NO_RECORD } from "../../shared/explain/record.ts";
import { H } from "../../shared/headers.ts";
import type { RemoteJwks } from "../../shared/security/jwks.ts";
import type { Snapshot } from "../../shared/snapshot/schema.ts";
import { explainRequested } from "./debug.ts";
import type { EdgeEnv, EdgeProps } from "./env.ts";
import { globalLimiter } from "./global-limiter.ts";
import { createExchange } from "./inbound.ts";
import type { EdgeServices, Pipeline } from "./pipeline.ts";
import { ResilienceState } from "./resilience/state.ts";
import type { RpcInvocation } from "./rpc/entrypoint.ts";
import { buildRpcPipeline, type RpcPipeline } from "./rpc/pipeline.ts";
import { SnapshotSource } from "./snapshot-source.ts";
import { TelemetryFlusher } from "./telemetry/flusher.ts";
import { TelemetryRecorder } from "./telemetry/recorder.ts";

/** A share from 0 to 1 in a var ("on" = 1, "off" = 0); unset or unreadable means every request. */
export function rate(setting: string | undefined): number {
  if (setting === "off") return 0;
  const n = Number(setting);
  return setting === undefined || setting === "" || setting === "on" || !Number.isFinite(n)
    ? 1
    : Math.min(1, Math.max(0, n));
}

type Source = SnapshotSource<Pipeline>;

/**
 * The mesh's per-isolate state where inline stages run (an app's isolate, or the gateway's for
 * inline services): one snapshot per edge it serves a half of, each refreshed and reported as an
 * edge's would be (so status, NACKs and `apply --wait` count these isolates), one telemetry
 * recorder and flusher, resilience state (outlier detection, budgets, local rate limits) that
 * survives a config change.
 */
export class InlineRuntime {
  readonly recorder = new TelemetryRecorder();
  readonly resilience = new ResilienceState();
  // Remote JWKS outlive snapshots, as at an edge.
  readonly authn = {
    remotes: new Map<string, RemoteJwks>(),
    fetcher: (url: string) => fetch(url, { signal: AbortSignal.timeout(5000) }),
  };
  private readonly sources = new Map<string, Source>();
  private readonly flusher: TelemetryFlusher;
  private readonly accessLogRate: number;
  readonly traceSampling: number;

  constructor(
    private readonly isolate: () => string,
    send: (batch: TelemetryBatch) => Promise<void>,
    settings: { accessLog?: string; traceSampling?: string },
  ) {
    this.accessLogRate = rate(settings.accessLog);
    this.traceSampling = rate(settings.traceSampling);
    // One batch carries every snapshot's report: the first as the batch's own, the others beside it.
    this.flusher = new TelemetryFlusher(
      this.recorder,
      () => this.reports()[0],
      (batch) => send({ ...batch, reports: this.reports().slice(1) }),
    );
  }

  /** The snapshot source of one half of one edge, built on first use. */
  source(key: string, env: EdgeEnv, bootstrap: string | undefined, build: (s: Snapshot, x: EdgeServices) => Pipeline) {
    let src = this.sources.get(key);
    if (src) return src;
    const flush = (ctx: ExecutionContext) => this.flusher.flush(ctx);
    const services: EdgeServices = {
      env,
      recorder: this.recorder,
      flush,
      accessLogRate: this.accessLogRate,
      resilience: this.resilience,
      globalLimiter: globalLimiter(env),
      authn: this.authn,
    };
    src = new SnapshotSource(
      env,
      (s) => build(s, services),
      () => this.recorder.touch(),
      flush,
      bootstrap,
    );
    this.sources.set(key, src);
    this.services.set(src, services);
    return src;
  }

  /** A half's current snapshot and the services its decisions use (Workers RPC reads them without a fetch pipeline). */
  async snapshotOf(src: Source, ctx: ExecutionContext): Promise<{ snapshot: Snapshot; services: EdgeServices }> {
    if (!src.snapshot) await src.check(true); // as run(): a half first used in a warm isolate reads the beacon
    const { snapshot } = src.ready(ctx) ?? (await src.get(ctx));
    return { snapshot, services: this.services.get(src)! };
  }

  /** A Workers RPC call through a callee's outbound half: RPC_PIPELINE without authz and rate limits (the callee's). */
  async rpc(src: Source, ctx: ExecutionContext, props: EdgeProps, call: RpcInvocation): Promise<unknown> {
    const { snapshot, services } = await this.snapshotOf(src, ctx);
    let pipeline = this.rpcPipelines.get(snapshot);
    if (!pipeline)
      this.rpcPipelines.set(
        snapshot,
        (pipeline = buildRpcPipeline(snapshot, services, this.traceSampling, "outbound")),
      );
    return pipeline(call, ctx, props);
  }
  // Built once per snapshot, as the fetch pipeline is.
  private readonly rpcPipelines = new WeakMap<Snapshot, RpcPipeline>();
  private readonly services = new WeakMap<Source, EdgeServices>();

  /** Runs one request through a half's pipeline: `props` say who called (the binding's, or the caller's own name). */
  async run(
    src: Source,
    env: EdgeEnv,
    request: Request,
    ctx: ExecutionContext,
    props: EdgeProps | undefined,
    half: "inbound" | "outbound" = "outbound",
  ) {
    // A half first used in a warm isolate reads the beacon itself, not a cached one: a change `apply --wait`
    // confirmed is what its first request sees (an edge's first isolate is started by the nudge).
    if (!src.snapshot) await src.check(true);
    const { snapshot, prepared } = src.ready(ctx) ?? (await src.get(ctx));
    const explain = request.headers.has(H.tracestate) ? await explainRequested(request, snapshot, env) : false;
    const x = createExchange(
      request,
      ctx,
      props,
      snapshot,
      explain ? new DecisionLog(true) : NO_RECORD,
      this.traceSampling,
    );
    if (half === "outbound" || !x.record.on) return prepared(x);
    x.record.note("identity", `caller ${x.caller}, from the binding's props (inbound, in the callee's isolate)`);
    // The outbound half's telemetry stage recorded this hop in the caller; its inbound decisions join it (explain/tree.ts).
    const response = await prepared(x);
    this.recorder.explain({
      id: x.trace.traceId,
      traceId: x.trace.traceId,
      spanId: x.trace.parentSpanId ?? x.trace.spanId,
      edge: snapshot.edge,
      caller: x.caller,
      method: x.inbound.method,
      url: x.url.toString(),
      at: x.startedAt,
      status: response.status,
      durationMs: Date.now() - x.startedAt,
      decisions: x.record.decisions,
      half: "inbound",
    });
    this.flusher.flush(ctx);
    return response;
  }

  /** What this isolate runs, one report per edge whose snapshot it holds (deduplicated by edge). */
  reports(): EdgeReport[] {
    const byEdge = new Map<string, EdgeReport>();
    for (const src of this.sources.values()) {
      if (!src.snapshot) continue;
      const r = src.report(this.isolate());
      if (!byEdge.has(r.edge)) byEdge.set(r.edge, r);
    }
    return [...byEdge.values()];
  }

  /**
   * Control-plane nudge: every snapshot this isolate holds re-read now, telemetry flushed, what runs
   * reported. A half no request has used yet is not loaded (its first request reads the current
   * snapshot): an inline service nobody called stays `idle`, as an edge no isolate runs.
   */
  async refresh(ctx: ExecutionContext): Promise<EdgeReport[]> {
    await Promise.all(
      [...this.sources.values()].map(async (src) => {
        if (!src.snapshot) await src.get(ctx);
        await src.check(true);
      }),
    );
    await this.flusher.flushNow(ctx);
    return this.reports();
  }
}
