import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { duplicateSeries, parseExposition, type Sample } from "../helpers/exposition.ts";
import { startTestMesh, type TestMesh, VIEWER_TOKEN } from "../helpers/mesh.ts";
import { PROMETHEUS, PROMTOOL, startPrometheus } from "../helpers/prometheus-server.ts";

// What /metrics, stats and the graph count is what the edges received (issue 28): the gateway's
// refusals (404 no_route, 401, 403, 429) included, each series once in the exposition, in
// Prometheus' units, read by promtool and scraped by a real Prometheus server without errors.

let mesh: TestMesh;
/** What the test sent through the gateway, by the status it got. */
const sent = new Map<number, number>();
const send = async (path: string, headers: Record<string, string> = {}) => {
  const res = await mesh.get(path, { headers: { "x-user": crypto.randomUUID(), ...headers } });
  sent.set(res.status, (sent.get(res.status) ?? 0) + 1);
  return res;
};
const total = () => [...sent.values()].reduce((a, b) => a + b, 0);

beforeAll(async () => {
  mesh = await startTestMesh(`name: scrape
services:
  - name: api
    versions: [{ name: v1, echo: true }]
`);
  await mesh.apply(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: api }
spec:
  parentRefs: [{ name: gateway }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /api } }]
      backendRefs: [{ name: api }]
      retry: { codes: [503], attempts: 2 }
---
apiVersion: isomesh.dev/v1
kind: RequestAuthentication
metadata: { name: gateway-jwt }
spec:
  targetRefs: [{ kind: Gateway, name: gateway }]
  jwtRules:
    - issuer: https://demo.isomesh.dev
      jwks: '{"keys":[{"kty":"EC","x":"H9s26f8SBZscBKlbwS0Bf5OsxJnUfaH72RucP_mc538","y":"xVzYbDAJRt_S7lV9kR-tyRUhOt_TSaUYeVfney60JIo","crv":"P-256","kid":"demo-1","alg":"ES256","use":"sig"}]}'
---
apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: no-admin }
spec:
  targetRefs: [{ kind: Gateway, name: gateway }]
  action: DENY
  rules: [{ to: [{ operation: { paths: ["/api/admin"] } }] }]
---
apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: gateway-limits }
spec:
  targetRefs: [{ kind: Gateway, name: gateway }]
  rateLimits: [{ requests: 2, per: 60s, key: { header: x-user } }]
`);
  for (let i = 0; i < 6; i++) expect((await send("/api/ok")).status).toBe(200);
  // Retried: twice to a 200 (the echo fails the first try of each key), once to a final 503. The
  // flag `retried` then has two series that differ only in response_code, with different values.
  for (const key of ["k1", "k2"])
    expect((await send("/api/flaky", { "x-echo-fail-times": "1", "x-echo-key": key })).status).toBe(200);
  expect((await send("/api/down", { "x-echo-status": "503" })).status).toBe(503);
  for (let i = 0; i < 4; i++) expect((await send("/nope")).status).toBe(404);
  for (let i = 0; i < 3; i++) expect((await send("/api/ok", { authorization: "Bearer not.a.jwt" })).status).toBe(401);
  for (let i = 0; i < 2; i++) expect((await send("/api/admin")).status).toBe(403);
  for (let i = 0; i < 3; i++) await send("/api/ok", { "x-user": "greedy" });
  expect(sent.get(429)).toBe(1);
});
afterAll(() => mesh?.stop());

const metrics = async () => parseExposition((await mesh.admin("/metrics", { token: VIEWER_TOKEN })).body);
const gatewayCount = (samples: Sample[], code?: number) =>
  samples
    .filter(
      (s) =>
        s.name === "isomesh_requests_total" &&
        s.labels.reporter === "gateway" &&
        (code === undefined || s.labels.response_code === String(code)),
    )
    .reduce((n, s) => n + s.value, 0);

describe("/metrics counts every request the gateway received", () => {
  it("refusals included: 404 no_route, 401, 403 and 429, in /metrics, stats and the graph", async () => {
    const samples = await vi.waitFor(
      async () => {
        const s = await metrics();
        expect(gatewayCount(s)).toBe(total());
        return s;
      },
      { timeout: 15_000, interval: 250 },
    );
    for (const code of [404, 401, 403, 429]) expect(gatewayCount(samples, code), `code ${code}`).toBe(sent.get(code));
    expect(samples).toContainEqual({
      name: "isomesh_requests_total",
      labels: {
        reporter: "gateway",
        source_workload: "external",
        destination_service: "unknown",
        destination_version: "unknown",
        route: "default",
        response_code: "404",
      },
      value: 4,
    });
    const stats = (await mesh.admin("/v1/stats?window=5m")).json();
    expect(stats.gateway).toMatchObject({ requests: total(), refused: 4 + 3 + 2 + 1 });
    const graph = (await mesh.admin("/v1/graph?window=5m")).json();
    expect(graph.edges.find((e: { source: string }) => e.source === "external")).toMatchObject({
      target: "gateway",
      requests: total(),
    });
    expect(graph.nodes.find((n: { id: string }) => n.id === "gateway")).toMatchObject({ requests: total() });
  });

  it("has each (name, labels) once, the duration in seconds, and promtool finds nothing", async () => {
    const text = (await mesh.admin("/metrics")).body;
    const samples = parseExposition(text);
    expect(duplicateSeries(samples)).toEqual([]);
    // The retried requests (two 200s, one 503), added up in one flag series.
    expect(samples).toContainEqual({
      name: "isomesh_request_flags_total",
      labels: {
        reporter: "gateway",
        source_workload: "external",
        destination_service: "api",
        destination_version: "v1",
        flag: "retried",
      },
      value: 3,
    });
    expect(text).not.toMatch(/milliseconds/);
    const buckets = samples.filter((s) => s.name === "isomesh_request_duration_seconds_bucket");
    expect(new Set(buckets.map((s) => s.labels.le))).toContain("0.0005");
    expect(new Set(buckets.map((s) => s.labels.le))).toContain("60");
    const sum = samples.find(
      (s) => s.name === "isomesh_request_duration_seconds_sum" && s.labels.reporter === "gateway",
    );
    expect(sum!.value).toBeLessThan(60); // seconds: a few requests of a few ms each
    if (!PROMTOOL) return void expect(process.env.CI, "promtool is required in CI").toBeFalsy();
    const dir = mkdtempSync(join(tmpdir(), "isomesh-metrics-"));
    try {
      writeFileSync(join(dir, "metrics.txt"), text);
      const out = execFileSync("sh", ["-c", `${PROMTOOL} check metrics < "${dir}/metrics.txt" 2>&1; echo "exit=$?"`])
        .toString()
        .trim();
      expect(out).toBe("exit=0");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a real Prometheus server scrapes it without errors and reads the same counts", async () => {
    if (!PROMETHEUS) return void expect(process.env.CI, "prometheus is required in CI").toBeFalsy();
    const prometheus = await startPrometheus({ url: mesh.adminUrl, token: VIEWER_TOKEN });
    try {
      await vi.waitFor(
        async () => {
          const [up] = await prometheus.query('up{job="isomesh"}');
          expect(up?.value[1]).toBe("1");
          const [scraped] = await prometheus.query('sum(isomesh_requests_total{reporter="gateway"})');
          expect(Number(scraped?.value[1])).toBe(total());
        },
        { timeout: 30_000, interval: 500 },
      );
      const [target] = await prometheus.targets();
      expect(target).toMatchObject({ health: "up", lastError: "" });
      expect(prometheus.scrapeProblems()).toEqual([]);
      // Of a series exposed twice in one scrape, Prometheus (2.42) silently keeps one sample: what it
      // stored must be what the edges counted, every retried request once.
      const [retried] = await prometheus.query('sum(isomesh_request_flags_total{reporter="gateway",flag="retried"})');
      expect(retried.value[1]).toBe("3");
      const [refused] = await prometheus.query('sum(isomesh_requests_total{reporter="gateway",response_code="404"})');
      expect(refused.value[1]).toBe("4");
    } finally {
      await prometheus.stop();
    }
  });
});
