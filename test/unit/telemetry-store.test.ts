import { beforeEach, describe, expect, it } from "vitest";
import type { MetricSeries, Span } from "../../shared/control-api.ts";
import { canaryMetricsOf } from "../../workers/control/rollout/metrics.ts";
import { MetricStore, mergeCounters, WINDOW_MS } from "../../workers/control/telemetry/metric-store.ts";
import { TELEMETRY_SCHEMA } from "../../workers/control/telemetry/schema.ts";
import { SpanStore } from "../../workers/control/telemetry/span-store.ts";
import { fakeClock } from "../helpers/config-store.ts";
import { testStorage } from "../helpers/sql-storage.ts";

const series = (over: Partial<MetricSeries> = {}): MetricSeries => ({
  reporter: "web-edge",
  source: "gateway",
  destination: "web",
  version: "v1",
  route: "r",
  code: 200,
  count: 2,
  sumMs: 10,
  buckets: [1, 1, 0],
  retries: 1,
  flags: { retried: 1 },
  ...over,
});

let sql: SqlStorage;
const clock = fakeClock(10 * 60 * WINDOW_MS);
beforeEach(async () => {
  sql = (await testStorage()).sql;
  sql.exec(TELEMETRY_SCHEMA);
  clock.set(10 * 60 * WINDOW_MS);
});

describe("metric store", () => {
  it("merges counters: counts, sums, buckets and flags add up", () => {
    expect(
      mergeCounters(
        series(),
        series({ count: 3, sumMs: 5, buckets: [0, 2, 1], retries: 0, flags: { retried: 2, timed_out: 1 } }),
      ),
    ).toEqual({ count: 5, sumMs: 15, buckets: [1, 3, 1], retries: 1, flags: { retried: 3, timed_out: 1 } });
    expect(mergeCounters(undefined, series())).toMatchObject({ count: 2, flags: { retried: 1 } });
  });

  it("adds each flush to its 10 s window and to the cumulative totals", () => {
    const store = new MetricStore(sql, clock.now);
    const t0 = clock.now();
    store.ingest([series()], t0);
    store.ingest([series(), series({ code: 503, count: 1 })], t0 + 1000);
    store.ingest([series()], t0 + WINDOW_MS);
    const windows = store.query(t0);
    expect(windows.map((w) => [w.window, w.code, w.count])).toEqual([
      [t0, 200, 4],
      [t0, 503, 1],
      [t0 + WINDOW_MS, 200, 2],
    ]);
    expect(store.totals().find((s) => s.code === 200)).toMatchObject({
      count: 6,
      sumMs: 30,
      buckets: [3, 3, 0],
      retries: 3,
      flags: { retried: 3 },
    });
  });

  it("drops windows older than an hour, never the totals", () => {
    const store = new MetricStore(sql, clock.now);
    store.ingest([series()], clock.now());
    clock.advance(61 * 60_000);
    store.ingest([series({ version: "v2" })], clock.now());
    expect(store.query(0).map((w) => w.version)).toEqual(["v2"]);
    expect(store.totals()).toHaveLength(2);
  });

  it("gives a rollout the canary's signals as its service's edge counted them, since the step started", () => {
    const store = new MetricStore(sql, clock.now);
    const t0 = clock.now();
    store.ingest(
      [
        series({ version: "v2", count: 8 }),
        series({ version: "v2", code: 500, count: 2 }),
        series({ version: "v1", count: 50 }),
        series({ reporter: "gateway", version: "v2", count: 99 }),
      ],
      t0,
    );
    store.ingest([series({ version: "v2", count: 90 })], t0 - 2 * WINDOW_MS); // before the step
    expect(canaryMetricsOf(store.query(t0 - 3 * WINDOW_MS), "web", "v2", t0 + 1)).toMatchObject({
      requests: 10,
      failures: 2,
      successRate: 0.8,
    });
  });
});

describe("span store", () => {
  const span = (traceId: string, spanId: string, startMs: number, parentSpanId?: string): Span => ({
    traceId,
    spanId,
    parentSpanId,
    service: "web",
    edge: "web-edge",
    name: "GET /",
    startMs,
    durationMs: 1,
    status: 200,
    attributes: {},
  });

  it("keeps traces with their root, newest first", () => {
    const store = new SpanStore(sql);
    store.add([span("t1", "a", 1), span("t1", "b", 2, "a"), span("t2", "c", 5)]);
    expect(store.trace("t1").map((s) => s.spanId)).toEqual(["a", "b"]);
    expect(store.recent(10).map((t) => [t.traceId, t.spans, t.root?.spanId])).toEqual([
      ["t2", 1, "c"],
      ["t1", 2, "a"],
    ]);
  });

  it("drops the oldest spans past 5000", () => {
    const store = new SpanStore(sql);
    store.add(Array.from({ length: 5003 }, (_, i) => span(`t${i}`, "s", i)));
    expect(store.trace("t0")).toEqual([]);
    expect(store.trace("t5002")).toHaveLength(1);
  });
});
