import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { EdgeReport, MetricSeries, Span } from "../../shared/control-api.ts";
import { emptyBuckets } from "../../shared/histogram.ts";
import { collectorCount, collectorName, DEFAULT_COLLECTORS } from "../../shared/telemetry/collectors.ts";
import { flushIntervalFor, Pacer, Reporters } from "../../shared/telemetry/pacing.ts";
import { CollectorBuffer, COLLECTOR_LIMITS } from "../../workers/control/telemetry/collector-buffer.ts";
import { MIRRORS, storeOf } from "../../workers/control/objects.ts";
import type { Admitted } from "../../workers/control/report-scope.ts";

// Telemetry collectors (workers/control/telemetry/): which collector an isolate reports to, the
// pace objects set, and what a collector holds between forwards, each within its bound.

const T0 = Date.UTC(2026, 5, 1);
const report = (isolate: string, extra: Partial<EdgeReport> = {}): EdgeReport => ({
  edge: "web-edge",
  isolate,
  version: 3,
  hash: "h3",
  state: "synced",
  ...extra,
});
const series = (extra: Partial<MetricSeries> = {}): MetricSeries => {
  const buckets = emptyBuckets();
  buckets[3] = extra.count ?? 1;
  return {
    reporter: "web-edge",
    source: "gateway",
    destination: "web",
    version: "v1",
    route: "web",
    code: 200,
    count: 1,
    sumMs: 3,
    buckets,
    retries: 0,
    flags: {},
    ...extra,
  };
};
const batch = (isolate: string, s: MetricSeries[], extra: Partial<Admitted> = {}): Admitted => ({
  reports: [report(isolate)],
  windowStart: T0,
  series: s,
  spans: [],
  explains: [],
  ...extra,
});
const span = (i: number): Span => ({
  traceId: "t".repeat(32),
  spanId: String(i).padStart(16, "0"),
  service: "web",
  edge: "web-edge",
  name: "GET /",
  startMs: T0,
  durationMs: 1,
  status: 200,
  attributes: {},
});

describe("which collector an isolate reports to", () => {
  it("is always the same one for an isolate, and spreads an edge's isolates evenly", () => {
    expect(collectorName("web-edge", "a1b2c3", 32)).toBe(collectorName("web-edge", "a1b2c3", 32));
    const per = new Map<string, number>();
    for (let i = 0; i < 32_000; i++) {
      const name = collectorName("web-edge", Math.random().toString(16).slice(2, 14), 32);
      per.set(name, (per.get(name) ?? 0) + 1);
    }
    expect(per.size).toBe(32);
    for (const n of per.values()) expect(n).toBeGreaterThan(800); // 1000 each on average
    expect([...per.keys()].every((k) => /^collector:web-edge:\d+$/.test(k))).toBe(true);
  });

  it("reads the count from the control worker's var, 32 by default, within 1..1024", () => {
    expect(collectorCount(undefined)).toBe(DEFAULT_COLLECTORS);
    expect(collectorCount("8")).toBe(8);
    expect(collectorCount("0")).toBe(DEFAULT_COLLECTORS);
    expect(collectorCount("many")).toBe(DEFAULT_COLLECTORS);
    expect(collectorCount("100000")).toBe(1024);
  });
});

describe("pacing", () => {
  it("asks isolates to flush less often only past 500 of them, at most every 10 s", () => {
    expect(flushIntervalFor(0)).toBe(1000);
    expect(flushIntervalFor(500)).toBe(1000);
    expect(flushIntervalFor(501)).toBe(2000);
    expect(flushIntervalFor(2400)).toBe(5000);
    expect(flushIntervalFor(1_000_000)).toBe(10_000);
  });

  it("asks for the interval that keeps the isolates heard from in the last 10 s near 500 flushes a second", () => {
    const r = new Reporters();
    for (let i = 0; i < 1200; i++) r.heard(`i${i}`, T0 + i);
    expect(r.intervalMs(T0 + 1200)).toBe(3000);
    for (let i = 0; i < 1200; i++) r.heard(`i${i}`, T0 + 3000); // they flush every 3 s now: still 1200 isolates
    expect(r.intervalMs(T0 + 4000)).toBe(3000);
    expect(r.intervalMs(T0 + 13_001)).toBe(1000); // none heard from in 10 s
  });

  it("keeps at most maxIsolates reporters", () => {
    const r = new Reporters(100);
    for (let i = 0; i < 1000; i++) r.heard(`i${i}`, T0);
    expect(r.intervalMs(T0)).toBe(1000);
  });

  it("paces each of N collectors to one call every N / 250 s, between 1 s and a third of the window", () => {
    const p = new Pacer(60_000);
    expect(p.heard("c0", T0)).toBe(1000);
    for (let i = 1; i < 3000; i++) p.heard(`c${i}`, T0 + i);
    expect(p.heard("c0", T0 + 3000)).toBe(12_000);
    for (let i = 0; i < 10_000; i++) p.heard(`d${i}`, T0 + 4000);
    expect(p.heard("d0", T0 + 4000)).toBe(20_000);
    // Collectors not heard from in the window no longer count.
    expect(p.heard("late", T0 + 4000 + 60_001)).toBe(1000);
    expect(p.senders).toBe(1);
  });

  it("keeps at most maxSenders", () => {
    const p = new Pacer(60_000, 250, 100);
    for (let i = 0; i < 1000; i++) p.heard(`c${i}`, T0);
    expect(p.senders).toBe(100);
  });
});

const services = new Set(["web", "api"]);
const stores = (s: MetricSeries) => storeOf(s, services);

describe("collector buffer", () => {
  it("merges the batches of its isolates per store and window, series by series", () => {
    const b = new CollectorBuffer(stores);
    b.add(batch("i1", [series({ count: 2 }), series({ code: 503 })]), T0);
    b.add(batch("i2", [series({ count: 3 }), series({ mirror: true })]), T0);
    b.add(batch("i3", [series({ count: 4 })], { windowStart: T0 + 10_000 }), T0 + 10_000);
    const out = b.takeSeries();
    expect([...out.keys()].sort()).toEqual([MIRRORS, "web"].sort());
    const web = out.get("web")!;
    expect(web.map((w) => w.at)).toEqual([T0, T0 + 10_000]);
    const first = web[0].series.find((s) => s.code === 200)!;
    expect(first.count).toBe(5);
    expect(first.buckets[3]).toBe(5);
    expect(web[1].series[0].count).toBe(4);
    expect(b.pendingSeries).toBe(false);
  });

  it("keeps only what a store refused, once, for the next forward", () => {
    const b = new CollectorBuffer(stores);
    b.add(batch("i1", [series({ count: 2 }), series({ destination: "api", count: 7 })]), T0);
    const first = b.takeSeries();
    b.restore("api", first.get("api")!); // web accepted, api refused
    b.add(batch("i1", [series({ destination: "api", count: 1 })]), T0);
    const second = b.takeSeries();
    expect([...second.keys()]).toEqual(["api"]);
    expect(second.get("api")![0].series[0].count).toBe(8);
  });

  it(`folds series past ${COLLECTOR_LIMITS.series} per store into one "other" series per code`, () => {
    const b = new CollectorBuffer(stores, { ...COLLECTOR_LIMITS, series: 3 });
    for (let i = 0; i < 10; i++) b.add(batch("i1", [series({ route: `r${i}`, code: i % 2 ? 200 : 500 })]), T0);
    const rows = b.takeSeries().get("web")![0].series;
    expect(rows).toHaveLength(5);
    const other = rows.filter((s) => s.route === "other");
    expect(other.map((s) => [s.code, s.count]).sort()).toEqual([
      [200, 4],
      [500, 3],
    ]);
    expect(rows.reduce((n, s) => n + s.count, 0)).toBe(10);
  });

  it(`keeps at most ${COLLECTOR_LIMITS.spans} spans and ${COLLECTOR_LIMITS.explains} decision records between forwards`, () => {
    const b = new CollectorBuffer(stores, { ...COLLECTOR_LIMITS, spans: 4 });
    b.add(batch("i1", [], { spans: [0, 1, 2].map(span) }), T0);
    b.add(batch("i2", [], { spans: [3, 4, 5].map(span) }), T0);
    expect(b.takeSpans()).toHaveLength(4);
    expect(b.droppedSpans).toBe(2);
    expect(b.pendingSpans).toBe(false);
  });

  it("groups its isolates' status by what they run, with exact counts and a few ids", () => {
    const b = new CollectorBuffer(stores, { ...COLLECTOR_LIMITS, idsPerGroup: 2 });
    expect(b.add(batch("i1", []), T0)).toBe(true); // a new isolate: changed
    expect(b.add(batch("i1", []), T0 + 500)).toBe(false); // the same again: not
    b.add(batch("i2", []), T0);
    b.add(batch("i3", []), T0);
    b.add({ ...batch("i4", []), reports: [report("i4", { version: 2, hash: "h2" })] }, T0);
    b.add({ ...batch("i5", []), reports: [report("i5", { state: "rejected", error: "bad" })] }, T0 - 61_000);
    const groups = b.groups(T0 - 60_000);
    expect(groups).toHaveLength(2);
    expect(groups.find((g) => g.version === 3)).toMatchObject({ isolates: 3, ids: ["i1", "i2"], lastSeen: T0 + 500 });
    expect(groups.find((g) => g.version === 2)).toMatchObject({ isolates: 1, ids: ["i4"] });
  });

  it("ignores an older snapshot's report arriving late, and says when an isolate's status changed", () => {
    const b = new CollectorBuffer(stores);
    b.add(batch("i1", []), T0);
    expect(b.add({ ...batch("i1", []), reports: [report("i1", { version: 2, hash: "h2" })] }, T0 + 1)).toBe(false);
    expect(b.groups(0)[0]).toMatchObject({ version: 3 });
    expect(b.add({ ...batch("i1", []), reports: [report("i1", { version: 4, hash: "h4" })] }, T0 + 2)).toBe(true);
  });

  it(`keeps the status of at most ${COLLECTOR_LIMITS.isolates} isolates, dropping the least recently heard from`, () => {
    const b = new CollectorBuffer(stores, { ...COLLECTOR_LIMITS, isolates: 100 });
    for (let i = 0; i < 1000; i++) b.add(batch(`i${i}`, []), T0 + i);
    const [g] = b.groups(0);
    expect(g.isolates).toBe(100);
    expect(g.lastSeen).toBe(T0 + 999);
  });

  it("takes an inline isolate's several reports, each under its own edge", () => {
    const b = new CollectorBuffer(stores);
    b.add(batch("app#1", [], { reports: [report("app#1"), report("app#1", { edge: "api-edge" })] }), T0);
    expect(
      b
        .groups(0)
        .map((g) => g.edge)
        .sort(),
    ).toEqual(["api-edge", "web-edge"]);
  });
});

describe("recorder pace", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
  });
  afterEach(() => vi.useRealTimers());

  it("flushes at the interval the control plane asked for (1 to 10 s), spread ±50% past a second", async () => {
    const { TelemetryRecorder } = await import("../../workers/dataplane/telemetry/recorder.ts");
    const r = new TelemetryRecorder();
    r.take(report("i1"), true);
    const dues = Array.from({ length: 200 }, () => (r.pace(4000), r.dueIn(T0)));
    expect(Math.min(...dues)).toBeGreaterThanOrEqual(2000);
    expect(Math.max(...dues)).toBeLessThanOrEqual(6000);
    expect(dues.reduce((a, b) => a + b) / dues.length).toBeGreaterThan(3500);
    expect(dues.reduce((a, b) => a + b) / dues.length).toBeLessThan(4500);
    r.pace(60_000);
    expect(r.dueIn(T0)).toBeLessThanOrEqual(15_000);
    r.pace(10);
    expect(r.dueIn(T0)).toBe(1000); // unpaced: every second, as before
  });
});
