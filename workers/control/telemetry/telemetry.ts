import { DurableObject } from "cloudflare:workers";
import type { MetricSeries, Span } from "../../../shared/control-api.ts";
import type { ControlEnv } from "../env.ts";
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

  constructor(ctx: DurableObjectState, env: ControlEnv) {
    super(ctx, env);
    ctx.storage.sql.exec(TELEMETRY_SCHEMA);
    this.metrics = new MetricStore(ctx.storage.sql);
    this.spans = new SpanStore(ctx.storage.sql);
  }

  ingest(series: MetricSeries[], at = Date.now()): void {
    this.metrics.ingest(series, at);
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

  trace(traceId: string): Span[] {
    return this.spans.trace(traceId);
  }

  recentTraces(limit = 50): { traceId: string; at: number; spans: number; root: Span | undefined }[] {
    return this.spans.recent(limit);
  }
}
