import type { MetricSeries } from "../../../shared/control-api.ts";

export const WINDOW_MS = 10_000;
const RETENTION_MS = 60 * 60_000;

export type SeriesRow = MetricSeries & { window: number };
type Counters = Pick<MetricSeries, "count" | "sumMs" | "buckets" | "retries" | "flags">;
type Row = {
  reporter: string;
  source: string;
  destination: string;
  version: string;
  route: string;
  code: number;
  count: number;
  sum_ms: number;
  buckets: string;
  retries: number;
  flags: string;
};

/** Adds one flush's counters to what a row already holds (counts, sums, bucket by bucket, flag by flag). */
export function mergeCounters(a: Counters | undefined, b: Counters): Counters {
  if (!a) return { count: b.count, sumMs: b.sumMs, buckets: b.buckets, retries: b.retries, flags: { ...b.flags } };
  const flags = { ...a.flags };
  for (const [k, v] of Object.entries(b.flags)) flags[k] = (flags[k] ?? 0) + v;
  const buckets = Array.from(
    { length: Math.max(a.buckets.length, b.buckets.length) },
    (_, i) => (a.buckets[i] ?? 0) + (b.buckets[i] ?? 0),
  );
  return { count: a.count + b.count, sumMs: a.sumMs + b.sumMs, buckets, retries: a.retries + b.retries, flags };
}

// A Workers RPC series keeps its method in the route column (`<route>#<method>`; route names are
// DNS-1123 names and methods JS identifiers, neither has a "#"), so the tables' key covers it
// without a migration of their primary key.
const routeColumn = (s: Pick<MetricSeries, "route" | "method">) =>
  s.method === undefined ? s.route : `${s.route}#${s.method}`;
function routeOf(column: string): Pick<MetricSeries, "route" | "method"> {
  const i = column.indexOf("#");
  return i === -1 ? { route: column } : { route: column.slice(0, i), method: column.slice(i + 1) };
}

const fromRow = (r: Row): MetricSeries => ({
  reporter: r.reporter,
  source: r.source,
  destination: r.destination,
  version: r.version,
  ...routeOf(r.route),
  code: r.code,
  count: r.count,
  sumMs: r.sum_ms,
  buckets: JSON.parse(r.buckets) as number[],
  retries: r.retries,
  flags: JSON.parse(r.flags) as Record<string, number>,
});

const KEY = "reporter=? AND source=? AND destination=? AND version=? AND route=? AND code=?";
const keyOf = (s: MetricSeries) => [s.reporter, s.source, s.destination, s.version, routeColumn(s), s.code];

/**
 * One destination service's metrics: 10 s windows kept for an hour (golden signals, the graph,
 * canary analysis) and cumulative totals (Prometheus counters), both merged by `mergeCounters`.
 */
export class MetricStore {
  constructor(
    private readonly sql: SqlStorage,
    private readonly now: () => number = Date.now,
  ) {}

  ingest(series: MetricSeries[], at = this.now()): void {
    const window = Math.floor(at / WINDOW_MS) * WINDOW_MS;
    for (const s of series) {
      this.add("totals", [], s);
      this.add("series", [window], s);
    }
    this.sql.exec("DELETE FROM series WHERE window < ?", this.now() - RETENTION_MS);
  }

  /** Cumulative series since this object was created (Prometheus counters). */
  totals(): MetricSeries[] {
    return this.sql.exec<Row>("SELECT * FROM totals").toArray().map(fromRow);
  }

  /** Windows since `sinceMs` (epoch ms), every series. */
  query(sinceMs: number): SeriesRow[] {
    return this.sql
      .exec<Row & { window: number }>(
        "SELECT * FROM series WHERE window >= ? ORDER BY window",
        Math.floor(sinceMs / WINDOW_MS) * WINDOW_MS,
      )
      .toArray()
      .map((r) => ({ window: r.window, ...fromRow(r) }));
  }

  /** Merges one series into its row of `table`; `series` rows are keyed by their window first. */
  private add(table: "totals" | "series", window: number[], s: MetricSeries): void {
    const where = table === "series" ? `window=? AND ${KEY}` : KEY;
    const key = [...window, ...keyOf(s)];
    const existing = this.sql.exec<Row>(`SELECT * FROM ${table} WHERE ${where}`, ...key).toArray()[0];
    const m = mergeCounters(existing && fromRow(existing), s);
    this.sql.exec(
      `INSERT OR REPLACE INTO ${table} VALUES (${key.map(() => "?").join(", ")}, ?, ?, ?, ?, ?)`,
      ...key,
      m.count,
      m.sumMs,
      JSON.stringify(m.buckets),
      m.retries,
      JSON.stringify(m.flags),
    );
  }
}
