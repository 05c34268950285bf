import { describe, expect, it } from "vitest";
import type { MetricSeries } from "../../shared/control-api.ts";
import { BoundedMap } from "../../shared/bounded-map.ts";
import { SPAN_PATH_CHARS, spanName } from "../../shared/telemetry/span-name.ts";
import { RESILIENCE_LIMITS, ResilienceState } from "../../workers/dataplane/resilience/state.ts";
import { TelemetryRecorder } from "../../workers/dataplane/telemetry/recorder.ts";
import { compileFor, testEdge } from "../helpers/edge.ts";

// What an isolate keeps across requests is bounded whatever the requests and config changes carry
// (docs/observability.md#memory): each bound, reached.

const report = { edge: "web-edge", isolate: "i1", version: 1, hash: "h", state: "synced" as const };
const observation = (i: number) => ({
  reporter: "web-edge",
  source: `caller-${i}`,
  destination: "web",
  version: "v1",
  route: "web",
  code: 200,
  durationMs: 5,
  retries: 0,
  flags: [] as string[],
});

describe("bounded per-key state", () => {
  it("keeps at most its capacity, dropping the least recently used", () => {
    const m = new BoundedMap<string, number>(3);
    for (const k of ["a", "b", "c"]) m.use(k, () => 1);
    m.use("a", () => 2); // used again: now the most recent
    m.use("d", () => 1); // drops b
    expect(m.size).toBe(3);
    let made = false;
    m.use("a", () => ((made = true), 3));
    expect(made).toBe(false);
    m.use("b", () => ((made = true), 3));
    expect(made).toBe(true);
  });

  it(`keeps at most ${RESILIENCE_LIMITS.budgets} retry budgets and outlier detectors however often the config changes`, () => {
    const state = new ResilienceState({ budgets: 10, detectors: 10, buckets: 10 });
    const created = new Set<object>();
    for (let i = 0; i < 1000; i++) {
      created.add(state.budget("web", { percent: i % 100, minRetriesPerSecond: i }));
      created.add(
        state.outliers("web-edge", {
          consecutiveErrors: i,
          interval: 1000,
          baseEjectionTime: 1000,
          maxEjectionPercent: 50,
        }),
      );
    }
    expect(created.size).toBe(2000);
    // The current config's state is kept while in use; what only old configs used is gone.
    const current = { percent: 20, minRetriesPerSecond: 10 };
    const b = state.budget("web", current);
    for (let i = 0; i < 100; i++) {
      expect(state.budget("web", current)).toBe(b);
      state.budget(`other-${i}`, current);
    }
    expect((state as unknown as { budgets: BoundedMap<string, unknown> }).budgets.size).toBe(10);
    expect((state as unknown as { detectors: BoundedMap<string, unknown> }).detectors.size).toBe(10);
  });

  it(`keeps at most ${RESILIENCE_LIMITS.buckets} local rate-limit buckets, keyed by request data`, () => {
    const state = new ResilienceState({ ...RESILIENCE_LIMITS, buckets: 100 });
    for (let i = 0; i < 10_000; i++) state.bucket(`tenant-${i}`, 5, 1000, 0).take(0);
    expect((state as unknown as { buckets: BoundedMap<string, unknown> }).buckets.size).toBe(100);
  });
});

describe("telemetry buffers of an isolate", () => {
  it("keeps at most 500 series between flushes, folding the rest into one that still counts every request", () => {
    const r = new TelemetryRecorder();
    for (let i = 0; i < 5000; i++) r.observe(observation(i));
    const batch = r.take(report, true)!;
    expect(batch.series.length).toBeLessThanOrEqual(501);
    expect(batch.series.reduce((n: number, s: MetricSeries) => n + s.count, 0)).toBe(5000);
    expect(batch.series.find((s) => s.source === "other")?.count).toBe(4500);
  });

  it("keeps at most 200 spans and 50 decision records between flushes", () => {
    const r = new TelemetryRecorder();
    for (let i = 0; i < 1000; i++) {
      r.span({
        traceId: "t",
        spanId: String(i),
        service: "web",
        edge: "web-edge",
        name: "GET /",
        startMs: 0,
        durationMs: 1,
        status: 200,
        attributes: {},
      });
      r.explain({
        id: "t",
        traceId: "t",
        spanId: String(i),
        edge: "web-edge",
        caller: "gateway",
        method: "GET",
        url: "http://web/",
        at: 0,
        decisions: [],
      });
    }
    const batch = r.take(report, true)!;
    expect(batch.spans).toHaveLength(200);
    expect(batch.explains).toHaveLength(50);
    expect(r.take(report, true)!.spans).toHaveLength(0);
  });

  it(`names a span with at most ${SPAN_PATH_CHARS} characters of its path, however long the client's`, async () => {
    expect(spanName("GET", "/short")).toBe("GET /short");
    const edge = testEdge(
      compileFor("name: m\nservices:\n  - { name: web, versions: [{ name: v1, echo: true }] }\n", "web-edge"),
    );
    const path = `/${"a".repeat(20_000)}`;
    await edge.request(path, { headers: { traceparent: `00-${"1".repeat(32)}-${"2".repeat(16)}-01` } });
    const [span] = edge.recorder.take(report, true)!.spans;
    expect(span.name).toBe(`GET /${"a".repeat(SPAN_PATH_CHARS - 1)}…`);
  });
});
