import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allReviewsV2, bookinfoGateway, bookinfoManifest } from "../helpers/bookinfo.ts";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";
import { eventually } from "../helpers/eventually.ts";

let mesh: TestMesh;
const N = 20;

beforeAll(async () => {
  mesh = await startTestMesh(bookinfoManifest());
  await mesh.apply(bookinfoGateway + "---\n" + allReviewsV2);
  for (let i = 0; i < N; i++) expect((await mesh.get("/productpage")).status).toBe(200);
});
afterAll(() => mesh?.stop());

describe("observability on Bookinfo", () => {
  it("counts requests exactly, per service and version", async () => {
    const stats = await eventually(
      async () => (await mesh.admin("/v1/stats?window=5m")).json(),
      // Each edge flushes on its own timer: wait for every one of them, not the first.
      (s) =>
        ["productpage", "details", "reviews", "ratings"].every(
          (name) => s.services.find((x: { service: string }) => x.service === name)?.requests === N,
        ),
    );
    const by = (name: string) => stats.services.find((s: { service: string }) => s.service === name);
    expect(by("productpage").requests).toBe(N);
    expect(by("details").requests).toBe(N);
    expect(by("reviews").versions.find((v: { version: string }) => v.version === "v2").requests).toBe(N);
    expect(by("reviews").versions.find((v: { version: string }) => v.version === "v1").requests).toBe(0);
    expect(by("ratings").requests).toBe(N);
    expect(by("productpage").successRate).toBe(1);
    expect(by("productpage").p99).toBeGreaterThan(0);
  });

  it("draws the service graph gateway → productpage → details/reviews → ratings", async () => {
    const graph = (await mesh.admin("/v1/graph")).json();
    const pairs = graph.edges.map((e: { source: string; target: string }) => `${e.source}->${e.target}`).sort();
    expect(pairs).toEqual([
      "external->gateway",
      "gateway->productpage",
      "productpage->details",
      "productpage->reviews",
      "reviews->ratings",
    ]);
    expect(graph.nodes.find((n: { id: string }) => n.id === "reviews").versions).toEqual(["v1", "v2", "v3"]);
  });

  it("keeps one continuous trace across the whole call chain", async () => {
    const res = await mesh.get("/productpage", {
      headers: { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" },
    });
    expect(res.status).toBe(200);
    const trace = await eventually(
      async () => (await mesh.admin("/v1/traces/4bf92f3577b34da6a3ce929d0e0e4736")).json(),
      (t) => t.spans?.length === 5,
    );
    const byEdge = Object.fromEntries(trace.spans.map((s: { edge: string }) => [s.edge, s]));
    expect(Object.keys(byEdge).sort()).toEqual([
      "details-edge",
      "gateway",
      "productpage-edge",
      "ratings-edge",
      "reviews-edge",
    ]);
    expect(byEdge.gateway.parentSpanId).toBe("00f067aa0ba902b7");
    expect(byEdge["productpage-edge"].parentSpanId).toBe(byEdge.gateway.spanId);
    expect(byEdge["reviews-edge"].parentSpanId).toBe(byEdge["productpage-edge"].spanId);
    expect(byEdge["details-edge"].parentSpanId).toBe(byEdge["productpage-edge"].spanId);
    expect(byEdge["ratings-edge"].parentSpanId).toBe(byEdge["reviews-edge"].spanId);
    const list = (await mesh.admin("/v1/traces")).json();
    expect(list.traces.some((t: { traceId: string }) => t.traceId === "4bf92f3577b34da6a3ce929d0e0e4736")).toBe(true);
  });

  it("serves Prometheus metrics, the duration in seconds", async () => {
    const res = await mesh.admin("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toContain("text/plain");
    expect(res.body).toMatch(
      /isomesh_requests_total\{reporter="reviews-edge",source_workload="productpage",destination_service="reviews",destination_version="v2",route="reviews",response_code="200"\} \d+/,
    );
    expect(res.body).toContain('isomesh_request_duration_seconds_bucket{reporter="gateway"');
    expect(res.body).toMatch(/isomesh_edge_config_version\{edge="gateway"\} \d+/);
    // promtool and a real Prometheus server read it: test/workers/metrics-scrape.test.ts.
  });

  // Last: it adds the fault-injection task's TrafficPolicy.
  it("records the call reviews gave up on: jason's 7 s delay at ratings against reviews' 2.5 s timeout", async () => {
    await mesh.apply(readFileSync("examples/bookinfo/tasks/fault-delay.yaml", "utf8"));
    const traceId = "5ae1c0ffee5ae1c0ffee5ae1c0ffee01";
    const res = await mesh.get("/productpage", {
      headers: { cookie: "session=jason", traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    expect(res.status).toBe(200);
    expect(res.body).toContain("Ratings service is currently unavailable");
    const trace = await eventually(
      async () => (await mesh.admin(`/v1/traces/${traceId}`)).json(),
      (t) => t.spans?.length === 5,
    );
    const ratings = trace.spans.find((s: { edge: string }) => s.edge === "ratings-edge");
    expect(ratings).toMatchObject({ status: 0, attributes: { cancelled: true, caller: "reviews" } });
    expect(ratings.durationMs).toBeGreaterThanOrEqual(2400); // reviews' timeout, not the 7 s delay
    expect(ratings.durationMs).toBeLessThan(7000);
    const line = mesh.logs
      .map((l) => l.slice(l.indexOf("{")))
      .find((l) => l.includes(`"traceId":"${traceId}"`) && l.includes('"edge":"ratings-edge"'));
    expect(JSON.parse(line!)).toMatchObject({ type: "access", status: 0, flags: ["fault_delay", "caller_cancelled"] });
    const stats = (await mesh.admin("/v1/stats?service=ratings&window=5m")).json().services[0];
    expect(stats).toMatchObject({ requests: N + 2, cancelled: 1 }); // N, the trace test's, jason's
    expect(stats.successRate).toBeLessThan(1);
    expect((await mesh.admin("/metrics")).body).toMatch(
      /isomesh_requests_total\{reporter="ratings-edge",source_workload="reviews",destination_service="ratings",destination_version="unknown",route="default",response_code="0"\} 1/,
    );
  });
});
