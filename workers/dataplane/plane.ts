import type { EdgeReport, ReportAnswer, TelemetryBatch } from "../../shared/control-api.ts";
import { DecisionLog, NO_RECORD } from "../../shared/explain/record.ts";
import { MeshError } from "../../shared/errors.ts";
import { H } from "../../shared/headers.ts";
import { callerError } from "../../shared/rpc/outcome.ts";
import type { RemoteJwks } from "../../shared/security/jwks.ts";
import type { Snapshot } from "../../shared/snapshot/schema.ts";
import type { EdgeEnv, EdgeProps } from "./env.ts";
import { explainRequested } from "./explain.ts";
import { globalLimiter } from "./global-limiter.ts";
import type { Pipelines, Services } from "./pipelines.ts";
import type { ProviderReach } from "./stages/ext-authz.ts";
import { callExchange, fetchExchange } from "./request.ts";
import { ResilienceState } from "./resilience/state.ts";
import type { RpcInvocation } from "./rpc/invocation.ts";
import { SnapshotSource } from "./snapshot-source.ts";
import { TelemetryFlusher } from "./telemetry/flusher.ts";
import { TelemetryRecorder } from "./telemetry/recorder.ts";
import type { Reach } from "./upstream.ts";

/** A share from 0 to 1 in a var ("on" = 1, "off" = 0); unset or unreadable means every request. */
export function rate(setting: string | undefined): number {
  if (setting === "off") return 0;
  const n = Number(setting);
  return setting === undefined || setting === "" || setting === "on" || !Number.isFinite(n)
    ? 1
    : Math.min(1, Math.max(0, n));
}

/** One edge's snapshot as an isolate holds it: its source and the pipelines built from each snapshot. */
export type Half = SnapshotSource<Pipelines>;

/** How a half's pipelines are built from a snapshot (shared/pipeline.ts: an edge, or an inline half). */
export type Build = (snapshot: Snapshot, services: Services) => Pipelines;

/**
 * The data plane's state in one isolate, whatever hosts it (an edge Worker, an app's isolate
 * running inline halves, the gateway with both): one snapshot source per edge it serves a half of,
 * each refreshed, validated and reported as an edge's (so status, NACKs and `apply --wait` count
 * these isolates); one telemetry recorder and flusher; one resilience state (outlier detection,
 * budgets, local rate limits) and one JWKS cache, which outlive any config change.
 */
export class DataPlane {
  readonly recorder = new TelemetryRecorder();
  readonly resilience = new ResilienceState();
  // Remote JWKS outlive snapshots (a config push does not refetch keys); verified tokens do not (see authenticate).
  readonly authn = {
    remotes: new Map<string, RemoteJwks>(),
    fetcher: (url: string) => fetch(url, { signal: AbortSignal.timeout(5000) }),
  };
  private readonly halves = new Map<string, Half>();
  private readonly envs = new WeakMap<Half, EdgeEnv>();
  private readonly fresh = new WeakSet<Half>();
  private readonly flusher: TelemetryFlusher;
  private readonly accessLogRate: number;
  readonly traceSampling: number;

  constructor(
    private readonly isolate: () => string,
    send: (batch: TelemetryBatch) => Promise<ReportAnswer | void>,
    settings: { accessLog?: string; traceSampling?: string },
  ) {
    this.accessLogRate = rate(settings.accessLog);
    this.traceSampling = rate(settings.traceSampling);
    // One batch carries every snapshot's report: the first as the batch's own, the others beside it.
    this.flusher = new TelemetryFlusher(
      this.recorder,
      () => this.reports()[0],
      (batch) => {
        const others = this.reports().slice(1);
        return send(others.length ? { ...batch, reports: others } : batch);
      },
    );
  }

  /** Flushes what this isolate recorded, in the context of whoever recorded it (see TelemetryFlusher). */
  readonly flush = (ctx: ExecutionContext) => this.flusher.flush(ctx);

  /**
   * The half `key` of the edge `env.EDGE_NAME` (built on first use), reaching its backends through
   * `reach`. `fresh`: its first request reads the beacon itself, not a cached one, so a change
   * `apply --wait` confirmed is what it sees (an inline half first used in a warm isolate; an edge's
   * first isolate is started by the control plane's nudge instead).
   */
  half(
    key: string,
    env: EdgeEnv,
    bootstrap: string | undefined,
    build: Build,
    reach: Reach,
    fresh = false,
    provider?: ProviderReach,
  ): Half {
    let half = this.halves.get(key);
    if (half) return half;
    const services: Services = {
      recorder: this.recorder,
      flush: this.flush,
      accessLogRate: this.accessLogRate,
      resilience: this.resilience,
      globalLimiter: globalLimiter(env),
      authn: this.authn,
      reach,
      provider,
      devGuard: typeof env.DEV_APP_GUARD === "string" ? env.DEV_APP_GUARD : undefined,
    };
    half = new SnapshotSource(
      env,
      (s) => build(s, services),
      () => this.recorder.touch(),
      this.flush, // a snapshot installed in the background is reported now, not on the next request
      bootstrap,
    );
    this.halves.set(key, half);
    this.envs.set(half, env);
    if (fresh) this.fresh.add(half);
    return half;
  }

  /** The half's snapshot and pipelines, without a promise when no check has to be awaited. */
  private async current(half: Half, ctx: ExecutionContext) {
    if (!half.snapshot && this.fresh.has(half)) await half.check(true);
    return half.ready(ctx) ?? (await half.get(ctx));
  }

  /**
   * Runs one fetch through a half: `props` say who called (the binding's, or the caller's own name
   * in an app's isolate). The inbound half of an inline service records, when asked to explain, its
   * own decisions under its caller's span (its outbound half recorded the hop in the caller).
   */
  async fetch(
    half: Half,
    request: Request,
    ctx: ExecutionContext,
    props: EdgeProps | undefined,
    o: { inbound?: boolean; inIsolate?: boolean } = {},
  ): Promise<Response> {
    const { snapshot, prepared } = half.ready(ctx) ?? (await this.current(half, ctx));
    const asked = explainRequested(request, snapshot, this.envs.get(half)!);
    const explain = asked === false ? false : await asked;
    const record = explain ? new DecisionLog(true) : NO_RECORD;
    const x = fetchExchange(request, ctx, props, snapshot, record, this.traceSampling, o.inIsolate);
    if (explain) x.onResponse((h) => h.set(H.explain, x.trace.traceId)); // the gateway's: where to read it
    // An outbound half called in its caller's own isolate: the call rejects as soon as the caller's
    // signal aborts, as a binding's fetch does, whatever the stages are still waiting for (a delay).
    if (o.inIsolate)
      return new Promise((resolve, reject) => {
        x.onGone = () => reject(request.signal.reason);
        prepared.fetch(x).then(resolve, reject);
      });
    if (!o.inbound || !x.record.on) return prepared.fetch(x);
    x.record.note("identity", `caller ${x.caller}, from the binding's props (inbound, in the callee's isolate)`);
    const response = await prepared.fetch(x);
    this.recorder.explain({
      id: x.trace.traceId,
      traceId: x.trace.traceId,
      spanId: x.trace.parentSpanId ?? x.trace.spanId,
      edge: snapshot.edge,
      caller: x.caller,
      method: x.method,
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

  /**
   * Runs one Workers RPC call through a half: what the method returned, or what it threw; a refusal
   * of the mesh is its Error, its code at the start of the message (shared/rpc/outcome.ts).
   */
  async call(half: Half, invocation: RpcInvocation, ctx: ExecutionContext, props: EdgeProps | undefined) {
    const { prepared } = half.ready(ctx) ?? (await this.current(half, ctx));
    try {
      const called = await prepared.call(callExchange(invocation, ctx, props, NO_RECORD, this.traceSampling));
      return called.value;
    } catch (e) {
      throw e instanceof MeshError ? callerError(e) : e;
    }
  }

  /** What this isolate runs, one report per edge whose snapshot it holds (deduplicated by edge). */
  reports(): EdgeReport[] {
    const byEdge = new Map<string, EdgeReport>();
    for (const half of this.halves.values()) {
      if (!half.snapshot) continue;
      const r = half.report(this.isolate());
      if (!byEdge.has(r.edge)) byEdge.set(r.edge, r);
    }
    return [...byEdge.values()];
  }

  /**
   * Control-plane nudge: every snapshot this isolate holds re-read now, telemetry flushed, what runs
   * reported. A half no request has used yet is not loaded (its first request reads the current
   * snapshot): an inline service nobody called stays `idle`, as an edge no isolate runs.
   */
  async refresh(ctx: ExecutionContext, keys?: (key: string) => boolean): Promise<EdgeReport[]> {
    await Promise.all(
      [...this.halves].map(async ([key, half]) => {
        if (keys && !keys(key)) return;
        if (!half.snapshot) await half.get(ctx);
        await half.check(true);
      }),
    );
    await this.flusher.flushNow(ctx);
    return this.reports();
  }
}
