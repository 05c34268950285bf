import { describe, expect, it } from "vitest";
import { bucketIndex, emptyBuckets, LATENCY_BUCKETS_MS, quantile } from "../../shared/histogram.ts";
import { golden } from "../../shared/telemetry/aggregate.ts";
import { toOtlp } from "../../shared/telemetry/otlp.ts";
import { prometheusText } from "../../shared/telemetry/prometheus.ts";
import { continueTrace } from "../../workers/dataplane/trace.ts";
import { duplicateSeries, parseExposition } from "../helpers/exposition.ts";

/** The width of the bucket holding `v`: the most a bucketed quantile can be off by. */
const bucketError = (v: number) => {
  const i = bucketIndex(v);
  return (LATENCY_BUCKETS_MS[i] ?? 60_000) - (i ? LATENCY_BUCKETS_MS[i - 1] : 0);
};

describe("histogram quantiles", () => {
  it.each([
    ["uniform 0-100 ms", (i: number) => (i % 1000) / 10],
    ["exponential-ish", (i: number) => Math.exp((i % 1000) / 150)],
    ["constant 7 ms", () => 7],
  ])("are within one bucket of the exact value: %s", (_n, gen) => {
    const values = Array.from({ length: 5000 }, (_, i) => gen(i));
    const buckets = emptyBuckets();
    for (const v of values) buckets[bucketIndex(v)]++;
    const sorted = [...values].sort((a, b) => a - b);
    for (const q of [0.5, 0.95, 0.99]) {
      const exact = sorted[Math.ceil(q * sorted.length) - 1];
      expect(Math.abs(quantile(buckets, q)! - exact)).toBeLessThanOrEqual(bucketError(exact));
    }
  });
  it("puts a value in the first bucket whose bound is >= it", () => {
    expect(bucketIndex(0)).toBe(0);
    expect(bucketIndex(1)).toBe(1);
    expect(bucketIndex(1.01)).toBe(2);
    expect(bucketIndex(1e9)).toBe(LATENCY_BUCKETS_MS.length);
  });
});

describe("golden signals", () => {
  it("computes rate, success rate and quantiles from series", () => {
    const b = emptyBuckets();
    b[bucketIndex(10)] = 90;
    const bad = emptyBuckets();
    bad[bucketIndex(10)] = 10;
    const g = golden(
      [
        { count: 90, code: 200, buckets: b, retries: 0 },
        { count: 10, code: 503, buckets: bad, retries: 4 },
      ],
      10,
    );
    expect(g).toMatchObject({ requests: 100, rps: 10, successRate: 0.9, retries: 4 });
    expect(g.p50).toBeGreaterThan(8);
    expect(g.p50).toBeLessThanOrEqual(10);
  });
  it("has no quantiles without requests", () =>
    expect(golden([], 60)).toMatchObject({ requests: 0, successRate: null, p99: null, cancelled: 0 }));
  it("counts requests whose caller gave up (code 0) as requests, cancelled and not successes, with their time", () => {
    const ok = emptyBuckets();
    ok[bucketIndex(5)] = 3;
    const gone = emptyBuckets();
    gone[bucketIndex(2500)] = 1;
    const g = golden(
      [
        { count: 3, code: 200, buckets: ok, retries: 0 },
        { count: 1, code: 0, buckets: gone, retries: 0 },
      ],
      1,
    );
    expect(g).toMatchObject({ requests: 4, successRate: 0.75, cancelled: 1 });
    expect(g.p99).toBeGreaterThan(2000);
  });
});

describe("exports", () => {
  const series = {
    reporter: "r-edge",
    source: "a",
    destination: "r",
    version: "v1",
    route: "x",
    code: 200,
    count: 3,
    sumMs: 12,
    buckets: (() => {
      const b = emptyBuckets();
      b[bucketIndex(4)] = 3;
      return b;
    })(),
    retries: 1,
    flags: { retried: 1 },
  };
  it("writes cumulative histogram buckets in seconds, ending in +Inf = count", () => {
    const text = prometheusText([series], [{ edge: "r-edge", version: 4 }], 4);
    const labels =
      'reporter="r-edge",source_workload="a",destination_service="r",destination_version="v1",route="x",response_code="200"';
    expect(text).toContain(`isomesh_request_duration_seconds_bucket{${labels},le="+Inf"} 3`);
    expect(text).toContain(`isomesh_request_duration_seconds_bucket{${labels},le="0.003"} 0`);
    // Seconds, Prometheus' base unit (OpenTelemetry's http.server.request.duration): 4 ms is le="0.004".
    expect(text).toContain(`isomesh_request_duration_seconds_bucket{${labels},le="0.004"} 3`);
    expect(text).toContain(`isomesh_request_duration_seconds_bucket{${labels},le="0.0005"} 0`);
    expect(text).toContain(`isomesh_request_duration_seconds_bucket{${labels},le="0.013"} 3`);
    expect(text).toContain(`isomesh_request_duration_seconds_sum{${labels}} 0.012`);
    expect(text).toContain("# TYPE isomesh_request_duration_seconds histogram");
    expect(text).not.toContain("milliseconds");
    expect(text).toContain(
      'isomesh_request_flags_total{reporter="r-edge",source_workload="a",destination_service="r",destination_version="v1",flag="retried"} 1',
    );
    expect(text).toContain('isomesh_edge_config_version{edge="r-edge"} 4');
  });
  it("writes every (name, labels) once: series that differ only in labels a metric lacks are added up", () => {
    // The flags counter has no route or response_code label: a retried 200 and a retried 503 are one series.
    const failed = { ...series, code: 503, count: 1, sumMs: 30, flags: { retried: 1 } };
    const text = prometheusText([series, failed, { ...series, route: "y" }], [], 1);
    const samples = parseExposition(text);
    expect(duplicateSeries(samples)).toEqual([]);
    expect(
      samples.filter((s) => s.name === "isomesh_request_flags_total").map((s) => [s.labels.flag, s.value]),
    ).toEqual([["retried", 3]]);
    // Identical full label sets (the same series from two reports) add up too, histogram and all.
    const twice = parseExposition(prometheusText([series, series], [], 1));
    expect(duplicateSeries(twice)).toEqual([]);
    expect(twice.find((s) => s.name === "isomesh_requests_total")!.value).toBe(6);
    expect(twice.find((s) => s.name === "isomesh_request_duration_seconds_sum")!.value).toBe(0.024);
  });
  it("labels a mirror's copies mirror=\"true\" and leaves every other series' labels as Istio's", () => {
    const text = prometheusText([series, { ...series, version: "v2", mirror: true }], [], 1);
    expect(text).toContain(
      'isomesh_requests_total{reporter="r-edge",source_workload="a",destination_service="r",destination_version="v1",route="x",response_code="200"} 3',
    );
    expect(text).toContain(
      'isomesh_requests_total{reporter="r-edge",source_workload="a",destination_service="r",destination_version="v2",route="x",response_code="200",mirror="true"} 3',
    );
    expect(text).toContain(
      'isomesh_request_flags_total{reporter="r-edge",source_workload="a",destination_service="r",destination_version="v2",mirror="true",flag="retried"} 1',
    );
    expect(text).toMatch(/# HELP isomesh_request_flags_total .*caller_cancelled.*\n/);
  });
  it("exports a cancelled span as an error with no HTTP status, and a mirror's copy as a client span", () => {
    const base = {
      traceId: "a".repeat(32),
      spanId: "b".repeat(16),
      service: "ratings",
      edge: "ratings-edge",
      name: "GET /r",
      startMs: 1,
      durationMs: 2500,
      attributes: {},
    };
    const [cancelled, copy] = toOtlp([
      { ...base, status: 0, attributes: { cancelled: true } },
      { ...base, spanId: "d".repeat(16), status: 200, attributes: { mirror: true } },
    ]).resourceSpans[0].scopeSpans[0].spans;
    expect(cancelled.status.code).toBe(2);
    expect(cancelled.attributes.map((a) => a.key)).not.toContain("http.response.status_code");
    expect(cancelled.attributes).toContainEqual({ key: "error.type", value: { stringValue: "caller_cancelled" } });
    expect(copy).toMatchObject({ kind: 3, status: { code: 1 } });
  });
  it("shapes spans as OTLP/HTTP JSON", () => {
    const otlp = toOtlp([
      {
        traceId: "a".repeat(32),
        spanId: "b".repeat(16),
        parentSpanId: "c".repeat(16),
        service: "reviews",
        edge: "reviews-edge",
        name: "GET /r",
        startMs: 1000.5,
        durationMs: 2,
        status: 200,
        attributes: { attempts: 1 },
      },
    ]);
    const span = otlp.resourceSpans[0].scopeSpans[0].spans[0];
    expect(otlp.resourceSpans[0].resource.attributes[0]).toEqual({
      key: "service.name",
      value: { stringValue: "reviews" },
    });
    expect(span).toMatchObject({
      traceId: "a".repeat(32),
      parentSpanId: "c".repeat(16),
      startTimeUnixNano: "1000500000",
      endTimeUnixNano: "1002500000",
      kind: 2,
      status: { code: 1 },
    });
  });
});

describe("trace context sampling", () => {
  const h = (o: Record<string, string>) => new Headers(o);
  it("keeps the caller's decision and samples new traces at the rate", () => {
    expect(
      continueTrace(h({ traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" }), 0).sampled,
    ).toBe(true);
    expect(
      continueTrace(h({ traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00" }), 1).sampled,
    ).toBe(false);
    expect(continueTrace(h({}), 0).sampled).toBe(false);
    expect(continueTrace(h({}), 1).sampled).toBe(true);
    const share = Array.from({ length: 4000 }, () => continueTrace(h({}), 0.25).sampled).filter(Boolean).length / 4000;
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.3);
    const t = continueTrace(h({}), 1);
    expect(t.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(t.spanId).toMatch(/^[0-9a-f]{16}$/);
  });
});
