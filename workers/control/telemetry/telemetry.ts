import { DurableObject } from "cloudflare:workers";
import type { MetricSeries, Span } from "../../../shared/control-api.ts";
import type { ControlEnv } from "../env.ts";
import { Pacer } from "../../../shared/telemetry/pacing.ts";
import type { WindowedSeries } from "./collector-buffer.ts";
import { MetricStore, type SeriesRow } from "./metric-store.ts";
import { TELEMETRY_SCHEMA } from "./schema.ts";
import { SpanStore } from "./span-store.ts";

/**
 * Telemetry of one destination service (`TELEMETRY.getByName("service:<name>")`): its metric
 * series (see MetricStore). The object named "traces" keeps the mesh's recent spans (SpanStore).
 */
export class Telemetry extends DurableObject<ControlEnv> {
  private readonly metrics: MetricStore;
  private readonly spans: SpanStore;
  /** The "traces" object hears from every collector: it sets each one's pace (shared/telemetry/pacing.ts). */
  private readonly pacer: Pacer;

  constructor(ctx: DurableObjectState, env: ControlEnv) {
    super(ctx, env);
    ctx.storage.sql.exec(TELEMETRY_SCHEMA);
    this.metrics = new MetricStore(ctx.storage.sql);
    this.spans = new SpanStore(ctx.storage.sql);
    this.pacer = new Pacer(Number(env.STATUS_WINDOW_S ?? 60) * 1000);
  }

  ingest(series: MetricSeries[], at = Date.now()): void {
    this.metrics.ingest(series, at);
  }

  /** A collector's forward: series by the window their batches started in. */
  ingestWindows(windows: WindowedSeries[]): void {
    for (const w of windows) this.metrics.ingest(w.series, w.at);
  }

  totals(): MetricSeries[] {
    return this.metrics.totals();
  }

  query(sinceMs: number): SeriesRow[] {
    return this.metrics.query(sinceMs);
  }

  addSpans(spans: Span[]): void {
    this.spans.add(spans);
  }

  /** Spans a collector passes on; answers when it may send the next ones (ms). */
  addSpansFrom(collector: string, spans: Span[]): { nextInMs: number } {
    this.spans.add(spans);
    return { nextInMs: this.pacer.heard(collector, Date.now()) };
  }

  trace(traceId: string): Span[] {
    return this.spans.trace(traceId);
  }

  recentTraces(limit = 50): { traceId: string; at: number; spans: number; root: Span | undefined }[] {
    return this.spans.recent(limit);
  }
}
