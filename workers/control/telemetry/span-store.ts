import type { Span } from "../../../shared/control-api.ts";

const MAX_SPANS = 5000;

/** The most recent spans of the mesh (the "traces" object), the oldest dropped past MAX_SPANS. */
export class SpanStore {
  constructor(private readonly sql: SqlStorage) {}

  add(spans: Span[]): void {
    for (const s of spans)
      this.sql.exec(
        "INSERT OR REPLACE INTO spans VALUES (?, ?, ?, ?)",
        s.traceId,
        s.spanId,
        s.startMs,
        JSON.stringify(s),
      );
    const n = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM spans").one().n;
    if (n > MAX_SPANS)
      this.sql.exec(
        "DELETE FROM spans WHERE at <= (SELECT at FROM spans ORDER BY at DESC LIMIT 1 OFFSET ?)",
        MAX_SPANS,
      );
  }

  trace(traceId: string): Span[] {
    return this.sql
      .exec<{ span: string }>("SELECT span FROM spans WHERE trace_id = ? ORDER BY at", traceId)
      .toArray()
      .map((r) => JSON.parse(r.span) as Span);
  }

  recent(limit = 50): { traceId: string; at: number; spans: number; root: Span | undefined }[] {
    const ids = this.sql
      .exec<{ trace_id: string; at: number; n: number }>(
        "SELECT trace_id, MIN(at) AS at, COUNT(*) AS n FROM spans GROUP BY trace_id ORDER BY at DESC LIMIT ?",
        limit,
      )
      .toArray();
    return ids.map((r) => ({
      traceId: r.trace_id,
      at: r.at,
      spans: r.n,
      root: this.trace(r.trace_id).find((s) => !s.parentSpanId),
    }));
  }
}
