import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { EdgeReport, MetricSeries, TelemetryBatch } from "../../shared/control-api.ts";
import { emptyBuckets } from "../../shared/histogram.ts";
import type { StatusGroup } from "../../workers/control/config-store/edge-status.ts";
import type { ControlEnv } from "../../workers/control/env.ts";
import { MeshControl } from "../../workers/control/mesh-control.ts";
import { TelemetryCollector } from "../../workers/control/telemetry/collector.ts";
import { Telemetry } from "../../workers/control/telemetry/telemetry.ts";
import { TelemetryFlusher } from "../../workers/dataplane/telemetry/flusher.ts";
import { TelemetryRecorder } from "../../workers/dataplane/telemetry/recorder.ts";
import { rpcStub, type TestState, testState } from "../helpers/durable-object.ts";

// A telemetry collector (workers/control/telemetry/collector.ts) in process, behind MeshControl's
// report, between edge isolates and the Durable Objects that keep what they report: the clock is
// faked, its alarm fired by calling alarm() when it is due.

const T0 = Date.UTC(2026, 5, 1);
const report = (isolate: string): EdgeReport => ({
  edge: "web-edge",
  isolate,
  version: 3,
  hash: "h3",
  state: "synced",
});
const series = (count: number, destination = "web"): MetricSeries => {
  const buckets = emptyBuckets();
  buckets[3] = count;
  const s = { reporter: "web-edge", source: "gateway", destination, version: "v1", route: "web", code: 200 };
  return { ...s, count, sumMs: count, buckets, retries: 0, flags: {} };
};
const batch = (isolate: string, s: MetricSeries[], extra: Partial<TelemetryBatch> = {}): TelemetryBatch => ({
  report: report(isolate),
  windowStart: Date.now(),
  series: s,
  spans: [],
  explains: [],
  ...extra,
});

type World = {
  env: ControlEnv;
  stores: Map<string, Telemetry>;
  collectors: Map<string, { object: TelemetryCollector; state: TestState }>;
  statuses: { collector: string; groups: StatusGroup[] }[];
  ingests: string[];
  /** Every collector's alarm that is due, fired. */
  fireAlarms(): Promise<void>;
  counted(store: string): number;
};

async function world(collectors = 1): Promise<World> {
  const stores = new Map<string, Telemetry>();
  const objects = new Map<string, { object: TelemetryCollector; state: TestState }>();
  const statuses: World["statuses"] = [];
  const ingests: string[] = [];
  const topology = {
    mesh: "t",
    services: [
      { name: "web", versions: ["v1"], calls: [] },
      { name: "api", versions: ["v1"], calls: [] },
    ],
  };
  const env = {
    TOPOLOGY: JSON.stringify(topology),
    TELEMETRY_COLLECTORS: String(collectors),
    STATUS_WINDOW_S: "60",
  } as unknown as ControlEnv;
  const telemetry = async (name: string) => {
    if (!stores.has(name)) stores.set(name, new Telemetry((await testState()).ctx, env));
    return stores.get(name)!;
  };
  for (const name of ["service:web", "service:api", "traces", "mirrors"]) await telemetry(name);
  env.TELEMETRY = {
    getByName: (name: string) => {
      const t = stores.get(name)!;
      return rpcStub({
        ingestWindows: (w: Parameters<Telemetry["ingestWindows"]>[0]) => (ingests.push(name), t.ingestWindows(w)),
        ingest: (s: MetricSeries[], at: number) => (ingests.push(name), t.ingest(s, at)),
        addSpans: (s: Parameters<Telemetry["addSpans"]>[0]) => t.addSpans(s),
        addSpansFrom: (c: string, s: Parameters<Telemetry["addSpans"]>[0]) => t.addSpansFrom(c, s),
      });
    },
  } as never;
  env.CONFIG_STORE = {
    getByName: () =>
      rpcStub({
        collectorStatus: (collector: string, groups: StatusGroup[]) => (
          statuses.push({ collector, groups }),
          { nextInMs: 1000 }
        ),
        report: (r: EdgeReport) => void statuses.push({ collector: `isolate:${r.isolate}`, groups: [] }),
      }),
  } as never;
  env.EXPLAIN = { getByName: () => rpcStub({ add: () => undefined }) } as never;
  for (let i = 0; i < collectors; i++) {
    const state = await testState();
    objects.set(`collector:web-edge:${i}`, { object: new TelemetryCollector(state.ctx, env), state });
  }
  env.COLLECTORS = { getByName: (name: string) => rpcStub(objects.get(name)!.object) } as never;
  return {
    env,
    stores,
    collectors: objects,
    statuses,
    ingests,
    async fireAlarms() {
      for (const c of objects.values()) {
        const at = c.state.alarm();
        if (at !== null && at <= Date.now()) {
          await c.state.ctx.storage.deleteAlarm();
          await c.object.alarm();
        }
      }
    },
    counted: (store) =>
      stores
        .get(store)!
        .totals()
        .reduce((n, s) => n + s.count, 0),
  };
}

const control = (env: ControlEnv) =>
  new MeshControl({ waitUntil: () => {}, props: { edge: "web-edge" } } as unknown as ExecutionContext, env);

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(T0);
});
afterEach(() => vi.useRealTimers());

describe("telemetry collector", () => {
  it("passes on what 50 isolates reported within a second in two calls to the destination's object, every request counted", async () => {
    const w = await world();
    const mesh = control(w.env);
    for (let i = 0; i < 50; i++) await mesh.report(batch(`i${i}`, [series(2)]));
    vi.setSystemTime(T0 + 1000);
    await w.fireAlarms();
    expect(w.ingests.filter((n) => n === "service:web")).toHaveLength(2); // the first at once, the rest a second later
    expect(w.counted("service:web")).toBe(100);
  });

  it("keeps a share its store refused and sends it once with the next forward", async () => {
    const w = await world();
    const api = w.stores.get("service:api")!;
    const ingest = api.ingestWindows.bind(api);
    let refuse = true;
    api.ingestWindows = (x) => {
      if (refuse) throw new Error("Durable Object is overloaded");
      return ingest(x);
    };
    await control(w.env).report(batch("i1", [series(3), series(4, "api")]));
    expect(w.counted("service:web")).toBe(3);
    expect(w.counted("service:api")).toBe(0);
    refuse = false;
    vi.setSystemTime(T0 + 1000);
    await w.fireAlarms();
    expect(w.counted("service:api")).toBe(4);
    expect(w.counted("service:web")).toBe(3);
  });

  it("counts a batch once when the trace store cannot keep its spans (a report is never refused in part)", async () => {
    vi.useRealTimers(); // the flusher's retry timers run for real, briefly
    const w = await world();
    const traces = w.stores.get("traces")!;
    traces.addSpans = traces.addSpansFrom = () => {
      throw new Error("string or blob too big");
    };
    const recorder = new TelemetryRecorder();
    const mesh = control(w.env);
    const flusher = new TelemetryFlusher(
      recorder,
      () => report("i1"),
      (b) => mesh.report(b),
      { now: () => Date.now(), sleep: () => new Promise((r) => setTimeout(r, 5)) },
    );
    const pending: Promise<unknown>[] = [];
    const ctx = { waitUntil: (p: Promise<unknown>) => void pending.push(p) } as unknown as ExecutionContext;
    for (let i = 0; i < 5; i++) recorder.observe({ ...series(1), durationMs: 1, retries: 0, flags: [] } as never);
    recorder.span({
      ...batch("i1", []),
      traceId: "a".repeat(32),
      spanId: "b".repeat(16),
      service: "web",
      edge: "web-edge",
      name: "GET /",
      startMs: 0,
      durationMs: 1,
      status: 200,
      attributes: {},
    } as never);
    await flusher.flushNow(ctx);
    while (pending.length) await pending.shift();
    expect(w.counted("service:web")).toBe(5);
  });

  it("reports its isolates' status to the ConfigStore as groups, at the pace it answers with", async () => {
    const w = await world();
    const mesh = control(w.env);
    await mesh.report(batch("i1", []));
    await mesh.report(batch("i2", []));
    expect(w.statuses).toHaveLength(1); // the second came within the second: it waits for the next forward
    vi.setSystemTime(T0 + 1000);
    await w.fireAlarms();
    expect(w.statuses.at(-1)).toMatchObject({
      collector: "collector:web-edge:0",
      groups: [{ edge: "web-edge", version: 3, hash: "h3", state: "synced", isolates: 2, ids: ["i1", "i2"] }],
    });
  });

  it("asks its isolates to flush less often past 500 of them", async () => {
    const w = await world();
    const mesh = control(w.env);
    let answer = { flushIntervalMs: 0 };
    for (let i = 0; i < 600; i++) answer = await mesh.report(batch(`i${i}`, [series(1)]));
    expect(answer.flushIntervalMs).toBe(2000);
    vi.setSystemTime(T0 + 1000);
    await w.fireAlarms();
    expect(w.counted("service:web")).toBe(600);
  });

  it("spreads an edge's isolates over its collectors, each isolate always to the same one", async () => {
    const w = await world(4);
    const mesh = control(w.env);
    for (let i = 0; i < 40; i++) await mesh.report(batch(`isolate-${i}`, [series(1)]));
    vi.setSystemTime(T0 + 1000);
    await w.fireAlarms();
    const used = new Set(w.statuses.map((s) => s.collector));
    expect(used.size).toBe(4);
    expect(w.counted("service:web")).toBe(40);
    const groups = w.statuses.filter((s) => s.groups.length).map((s) => s.groups[0].isolates);
    expect(groups.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(40);
  });
});
