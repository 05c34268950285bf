import type { MetricSeries, Span, TelemetryBatch } from "../../../shared/control-api.ts";
import { bucketIndex, emptyBuckets } from "../../../shared/histogram.ts";
import type { HopRecord } from "../../../shared/explain/record.ts";
import { FLUSH_INTERVAL_MS, MAX_FLUSH_INTERVAL_MS } from "../../../shared/telemetry/pacing.ts";
import { seriesKey } from "../../../shared/telemetry/series-key.ts";

const MAX_SERIES = 500;
const MAX_SPANS = 200;
const MAX_EXPLAINS = 50;

export type Observation = Omit<MetricSeries, "count" | "sumMs" | "buckets" | "retries" | "flags"> & {
  durationMs: number;
  retries: number;
  flags: Iterable<string>;
};

type SeriesLabels = Pick<
  MetricSeries,
  "reporter" | "source" | "destination" | "version" | "route" | "code" | "mirror" | "method"
>;

/** A series with these labels and nothing counted yet. */
const emptySeries = (o: SeriesLabels): MetricSeries => ({
  reporter: o.reporter,
  source: o.source,
  destination: o.destination,
  version: o.version,
  route: o.route,
  code: o.code,
  count: 0,
  sumMs: 0,
  buckets: emptyBuckets(),
  retries: 0,
  flags: {},
  ...(o.mirror ? { mirror: true } : {}),
  ...(o.method !== undefined ? { method: o.method } : {}),
});

const spread = (ms: number) => (ms > FLUSH_INTERVAL_MS ? ms * (0.5 + Math.random()) : ms);

/**
 * Aggregates this isolate's requests in memory (counters and histograms per series) and hands
 * them to the control plane in batches. Recording is a map update; nothing waits for a flush.
 */
export class TelemetryRecorder {
  private series = new Map<string, MetricSeries>();
  private spans: Span[] = [];
  private explains: HopRecord[] = [];
  private windowStart = Date.now();
  private lastFlush = Date.now();
  private dirty = true;
  /** How often batches go: what the control plane last asked for (shared/telemetry/pacing.ts). */
  private pacedMs = FLUSH_INTERVAL_MS;
  /** This interval's length: the pace, spread ±50% past a second so isolates paced together do not flush together. */
  private intervalMs = FLUSH_INTERVAL_MS;

  observe(o: Observation): void {
    const s = this.seriesFor(o);
    this.dirty = true;
    if (!s) return this.overflow(o);
    s.count++;
    s.sumMs += o.durationMs;
    s.buckets[bucketIndex(o.durationMs)]++;
    s.retries += o.retries;
    for (const f of o.flags) s.flags[f] = (s.flags[f] ?? 0) + 1;
  }

  span(span: Span): void {
    if (this.spans.length < MAX_SPANS) this.spans.push(span);
    this.dirty = true;
  }

  explain(record: HopRecord): void {
    if (this.explains.length < MAX_EXPLAINS) this.explains.push(record);
    this.dirty = true;
  }

  /** Whether anything is buffered that has not been sent. */
  get pending(): boolean {
    return this.dirty || this.series.size > 0 || this.spans.length > 0 || this.explains.length > 0;
  }

  /** How long until a batch is due (0: now). */
  dueIn(now = Date.now()): number {
    return Math.max(0, this.lastFlush + this.intervalMs - now);
  }

  /** Flush every `ms` from now on (1 to 10 s): the control plane's collector asks for longer when it is busy. */
  pace(ms: number): void {
    if (!Number.isFinite(ms)) return;
    this.pacedMs = Math.min(MAX_FLUSH_INTERVAL_MS, Math.max(FLUSH_INTERVAL_MS, ms));
    this.intervalMs = spread(this.pacedMs);
  }

  /**
   * Takes back a batch the control plane did not accept, so the next flush carries it again: its
   * counters merge into the current ones (same series add up), spans and records within the caps.
   */
  restore(batch: TelemetryBatch): void {
    for (const r of batch.series) {
      const s = this.seriesFor(r);
      if (!s) continue; // past the cap it is dropped: memory stays bounded while the control plane is away
      s.count += r.count;
      s.sumMs += r.sumMs;
      r.buckets.forEach((n, i) => (s.buckets[i] += n));
      s.retries += r.retries;
      for (const [f, n] of Object.entries(r.flags)) s.flags[f] = (s.flags[f] ?? 0) + n;
    }
    this.spans = [...batch.spans, ...this.spans].slice(0, MAX_SPANS);
    this.explains = [...batch.explains, ...this.explains].slice(0, MAX_EXPLAINS);
    this.windowStart = Math.min(this.windowStart, batch.windowStart);
    this.dirty = true;
  }

  /** Marks state worth reporting now (a new snapshot, a rejection) rather than on the next interval. */
  touch(): void {
    this.dirty = true;
    this.lastFlush = 0;
  }

  /** Whether a batch is due: the interval elapsed (or buffers are large) and there is something to say. */
  due(now = Date.now()): boolean {
    const elapsed = now - this.lastFlush;
    if (elapsed < this.intervalMs && this.series.size < MAX_SERIES && this.explains.length === 0) return false;
    return this.dirty || elapsed >= 10 * FLUSH_INTERVAL_MS;
  }

  /** The batch to send if one is due (interval elapsed or buffers large), emptying the buffers. */
  take(report: TelemetryBatch["report"], force = false): TelemetryBatch | undefined {
    const now = Date.now();
    if (!force && !this.due(now)) return undefined;
    const batch: TelemetryBatch = {
      report,
      windowStart: this.windowStart,
      series: [...this.series.values()],
      spans: this.spans,
      explains: this.explains,
    };
    this.series = new Map();
    this.spans = [];
    this.explains = [];
    this.windowStart = now;
    this.lastFlush = now;
    this.intervalMs = spread(this.pacedMs);
    this.dirty = false;
    return batch;
  }

  /** The series an observation adds to, created on first use; undefined past the cap. */
  private seriesFor(o: SeriesLabels): MetricSeries | undefined {
    const key = seriesKey(o);
    let s = this.series.get(key);
    if (!s) {
      if (this.series.size >= MAX_SERIES) return undefined;
      s = emptySeries(o);
      this.series.set(key, s);
    }
    return s;
  }

  /** Unknown series past the cap fold into one catch-all series so cardinality stays bounded. */
  private overflow(o: Observation): void {
    const key = o.mirror ? "overflow|mirror" : "overflow";
    let s = this.series.get(key);
    if (!s) {
      s = emptySeries({ ...o, source: "other", version: "other", route: "other", method: undefined });
      this.series.set(key, s);
    }
    s.count++;
    s.sumMs += o.durationMs;
    s.buckets[bucketIndex(o.durationMs)]++;
  }
}
