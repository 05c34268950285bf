import type { EdgeReport, MetricSeries, Span } from "../../../shared/control-api.ts";
import type { HopRecord } from "../../../shared/explain/hop.ts";
import { seriesKey } from "../../../shared/telemetry/series-key.ts";
import type { StatusGroup } from "../config-store/edge-status.ts";
import type { Admitted } from "../report-scope.ts";
import { mergeCounters, WINDOW_MS } from "./metric-store.ts";

/** A store's share of a forward: its series, by the 10 s window their batches started in. */
export type WindowedSeries = { at: number; series: MetricSeries[] };

/** Bounds on what a collector holds between forwards (docs/observability.md#at-internet-scale). */
export const COLLECTOR_LIMITS = {
  /** Series per store and window; past it, new ones fold into one `other` series per store, window and code. */
  series: 5000,
  spans: 500,
  explains: 200,
  /** Isolates whose status is kept (least recently heard from dropped first). */
  isolates: 10_000,
  /** Isolate ids listed per status group (the count is always exact). */
  idsPerGroup: 16,
};

type Heard = { report: EdgeReport; at: number };

/**
 * What a collector holds between forwards: the series of its isolates' batches merged per store
 * and window (a store's share leaves only when that store accepted it, so nothing is counted
 * twice), the spans and decision records to pass on, and each isolate's last status.
 */
export class CollectorBuffer {
  private series = new Map<string, Map<string, MetricSeries>>(); // store → window|series key → counters
  private spans: Span[] = [];
  private explains: HopRecord[] = [];
  private readonly status = new Map<string, Heard>();
  droppedSpans = 0;

  constructor(
    /** The store a series goes to (objects.ts's storeOf, with the mesh's services). */
    private readonly storeOf: (s: MetricSeries) => string,
    private readonly limits = COLLECTOR_LIMITS,
  ) {}

  /** Adds one isolate's batch (what its binding may send of it); answers whether a status it reports is new or changed. */
  add(batch: Admitted, now: number): boolean {
    const window = Math.floor(batch.windowStart / WINDOW_MS) * WINDOW_MS;
    for (const s of batch.series) this.merge(this.storeOf(s), window, s);
    for (const s of batch.spans)
      if (this.spans.length < this.limits.spans) this.spans.push(s);
      else this.droppedSpans++;
    for (const e of batch.explains) if (this.explains.length < this.limits.explains) this.explains.push(e);
    let changed = false;
    for (const r of batch.reports) changed = this.heard(r, now) || changed;
    return changed;
  }

  /** Every store's share, emptied from the buffer (give back what a store refused with `restore`). */
  takeSeries(): Map<string, WindowedSeries[]> {
    const out = new Map<string, WindowedSeries[]>();
    for (const [store, rows] of this.series) {
      const byWindow = new Map<number, MetricSeries[]>();
      for (const [key, s] of rows) {
        const at = Number(key.slice(0, key.indexOf("|")));
        byWindow.set(at, [...(byWindow.get(at) ?? []), s]);
      }
      out.set(
        store,
        [...byWindow].map(([at, series]) => ({ at, series })),
      );
    }
    this.series = new Map();
    return out;
  }

  /** A store's share it did not accept, merged back for the next forward. */
  restore(store: string, windows: WindowedSeries[]): void {
    for (const w of windows) for (const s of w.series) this.merge(store, w.at, s);
  }

  takeSpans(): Span[] {
    const out = this.spans;
    this.spans = [];
    return out;
  }

  takeExplains(): HopRecord[] {
    const out = this.explains;
    this.explains = [];
    return out;
  }

  get pendingSeries(): boolean {
    return this.series.size > 0;
  }

  get pendingSpans(): boolean {
    return this.spans.length > 0;
  }

  /** The status of the isolates heard from since `since`, grouped by what they run. */
  groups(since: number): StatusGroup[] {
    const groups = new Map<string, StatusGroup>();
    for (const { report: r, at } of this.status.values()) {
      if (at < since) continue;
      const key = `${r.edge}|${r.version}|${r.hash}|${r.state}`;
      let g = groups.get(key);
      if (!g) {
        g = { edge: r.edge, version: r.version, hash: r.hash, state: r.state, isolates: 0, lastSeen: 0, ids: [] };
        groups.set(key, g);
      }
      g.isolates++;
      g.lastSeen = Math.max(g.lastSeen, at);
      if (r.error && !g.error) g.error = r.error;
      if (g.ids.length < this.limits.idsPerGroup) g.ids.push(r.isolate);
    }
    return [...groups.values()];
  }

  private heard(r: EdgeReport, now: number): boolean {
    const key = `${r.edge}|${r.isolate}`;
    const before = this.status.get(key)?.report;
    // An older snapshot's report arriving late (a retried batch) must not make the isolate look stale.
    if (before && r.version < before.version) return false;
    this.status.delete(key); // re-inserted last: the map's order is least recently heard from first
    this.status.set(key, { report: r, at: now });
    if (this.status.size > this.limits.isolates) this.status.delete(this.status.keys().next().value!);
    return (
      !before ||
      before.version !== r.version ||
      before.hash !== r.hash ||
      before.state !== r.state ||
      before.error !== r.error
    );
  }

  private merge(store: string, window: number, s: MetricSeries): void {
    let rows = this.series.get(store);
    if (!rows) this.series.set(store, (rows = new Map()));
    let key = `${window}|${seriesKey(s)}`;
    let row = s;
    if (!rows.has(key) && rows.size >= this.limits.series) {
      const { method: _method, ...labels } = s;
      row = { ...labels, source: "other", version: "other", route: "other" };
      key = `${window}|${seriesKey(row)}`;
    }
    const had = rows.get(key);
    rows.set(key, { ...row, ...mergeCounters(had, s) });
  }
}
