import { DurableObject } from "cloudflare:workers";
import type { MetricSeries, Span } from "../../../shared/control-api.ts";
import type { ControlEnv } from "../env.ts";

const WINDOW_MS = 10_000;
const RETENTION_MS = 60 * 60_000;
const MAX_SPANS = 5000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS series (
  window INTEGER NOT NULL, reporter TEXT NOT NULL, source TEXT NOT NULL, destination TEXT NOT NULL, version TEXT NOT NULL,
  route TEXT NOT NULL, code INTEGER NOT NULL, count INTEGER NOT NULL, sum_ms REAL NOT NULL, buckets TEXT NOT NULL,
  retries INTEGER NOT NULL, flags TEXT NOT NULL,
  PRIMARY KEY (window, reporter, source, destination, version, route, code));
CREATE TABLE IF NOT EXISTS totals (
  reporter TEXT NOT NULL, source TEXT NOT NULL, destination TEXT NOT NULL, version TEXT NOT NULL, route TEXT NOT NULL, code INTEGER NOT NULL,
  count INTEGER NOT NULL, sum_ms REAL NOT NULL, buckets TEXT NOT NULL, retries INTEGER NOT NULL, flags TEXT NOT NULL,
  PRIMARY KEY (reporter, source, destination, version, route, code));
CREATE TABLE IF NOT EXISTS spans (trace_id TEXT NOT NULL, span_id TEXT NOT NULL, at INTEGER NOT NULL, span TEXT NOT NULL, PRIMARY KEY (trace_id, span_id));
CREATE INDEX IF NOT EXISTS spans_at ON spans (at);`;

export type SeriesRow = MetricSeries & { window: number };

/**
 * Metrics of one destination service (one object per service: `TELEMETRY.getByName(service)`),
 * kept as 10 s windows of counters and histograms in SQLite for an hour. Traces live in the
 * object named "traces".
 */
export class Telemetry extends DurableObject<ControlEnv> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: ControlEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMA);
  }

  ingest(series: MetricSeries[], at = Date.now()): void {
    const window = Math.floor(at / WINDOW_MS) * WINDOW_MS;
    for (const s of series) {
      this.addTo("totals", s);
      const existing = this.sql
        .exec<{ count: number; sum_ms: number; buckets: string; retries: number; flags: string }>(
          "SELECT count, sum_ms, buckets, retries, flags FROM series WHERE window=? AND reporter=? AND source=? AND destination=? AND version=? AND route=? AND code=?",
          window, s.reporter, s.source, s.destination, s.version, s.route, s.code,
        )
        .toArray()[0];
      const buckets = existing ? (JSON.parse(existing.buckets) as number[]).map((n, i) => n + (s.buckets[i] ?? 0)) : s.buckets;
      const flags: Record<string, number> = existing ? JSON.parse(existing.flags) : {};
      for (const [k, v] of Object.entries(s.flags)) flags[k] = (flags[k] ?? 0) + v;
      this.sql.exec(
        "INSERT OR REPLACE INTO series VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        window, s.reporter, s.source, s.destination, s.version, s.route, s.code,
        (existing?.count ?? 0) + s.count, (existing?.sum_ms ?? 0) + s.sumMs, JSON.stringify(buckets), (existing?.retries ?? 0) + s.retries, JSON.stringify(flags),
      );
    }
    this.sql.exec("DELETE FROM series WHERE window < ?", Date.now() - RETENTION_MS);
  }

  /** Merges one series into a row of `table` (windows or cumulative totals). */
  private addTo(table: "totals", s: MetricSeries): void {
    const existing = this.sql
      .exec<{ count: number; sum_ms: number; buckets: string; retries: number; flags: string }>(
        `SELECT count, sum_ms, buckets, retries, flags FROM ${table} WHERE reporter=? AND source=? AND destination=? AND version=? AND route=? AND code=?`,
        s.reporter, s.source, s.destination, s.version, s.route, s.code,
      )
      .toArray()[0];
    const buckets = existing ? (JSON.parse(existing.buckets) as number[]).map((n, i) => n + (s.buckets[i] ?? 0)) : s.buckets;
    const flags: Record<string, number> = existing ? JSON.parse(existing.flags) : {};
    for (const [k, v] of Object.entries(s.flags)) flags[k] = (flags[k] ?? 0) + v;
    this.sql.exec(
      `INSERT OR REPLACE INTO ${table} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      s.reporter, s.source, s.destination, s.version, s.route, s.code,
      (existing?.count ?? 0) + s.count, (existing?.sum_ms ?? 0) + s.sumMs, JSON.stringify(buckets), (existing?.retries ?? 0) + s.retries, JSON.stringify(flags),
    );
  }

  /** Cumulative series since this object was created (Prometheus counters). */
  totals(): MetricSeries[] {
    return this.sql
      .exec<{ reporter: string; source: string; destination: string; version: string; route: string; code: number; count: number; sum_ms: number; buckets: string; retries: number; flags: string }>("SELECT * FROM totals")
      .toArray()
      .map((r) => ({ reporter: r.reporter, source: r.source, destination: r.destination, version: r.version, route: r.route, code: r.code, count: r.count, sumMs: r.sum_ms, buckets: JSON.parse(r.buckets), retries: r.retries, flags: JSON.parse(r.flags) }));
  }

  /** Windows since `sinceMs` (epoch ms), every series. */
  query(sinceMs: number): SeriesRow[] {
    return this.sql
      .exec<{ window: number; reporter: string; source: string; destination: string; version: string; route: string; code: number; count: number; sum_ms: number; buckets: string; retries: number; flags: string }>(
        "SELECT * FROM series WHERE window >= ? ORDER BY window",
        Math.floor(sinceMs / WINDOW_MS) * WINDOW_MS,
      )
      .toArray()
      .map((r) => ({ window: r.window, reporter: r.reporter, source: r.source, destination: r.destination, version: r.version, route: r.route, code: r.code, count: r.count, sumMs: r.sum_ms, buckets: JSON.parse(r.buckets), retries: r.retries, flags: JSON.parse(r.flags) }));
  }

  addSpans(spans: Span[]): void {
    for (const s of spans) this.sql.exec("INSERT OR REPLACE INTO spans VALUES (?, ?, ?, ?)", s.traceId, s.spanId, s.startMs, JSON.stringify(s));
    const n = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM spans").one().n;
    if (n > MAX_SPANS) this.sql.exec("DELETE FROM spans WHERE at <= (SELECT at FROM spans ORDER BY at DESC LIMIT 1 OFFSET ?)", MAX_SPANS);
  }

  trace(traceId: string): Span[] {
    return this.sql.exec<{ span: string }>("SELECT span FROM spans WHERE trace_id = ? ORDER BY at", traceId).toArray().map((r) => JSON.parse(r.span) as Span);
  }

  recentTraces(limit = 50): { traceId: string; at: number; spans: number; root: Span | undefined }[] {
    const ids = this.sql.exec<{ trace_id: string; at: number; n: number }>("SELECT trace_id, MIN(at) AS at, COUNT(*) AS n FROM spans GROUP BY trace_id ORDER BY at DESC LIMIT ?", limit).toArray();
    return ids.map((r) => ({ traceId: r.trace_id, at: r.at, spans: r.n, root: this.trace(r.trace_id).find((s) => !s.parentSpanId) }));
  }
}
