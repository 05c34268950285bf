import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";

let mesh: TestMesh;
beforeAll(async () => {
  mesh = await startTestMesh(`name: resilience
services:
  - name: dead
    versions:
      - { name: v1, echo: { status: 503 } }
  - name: flaky
    versions:
      - { name: good, echo: true }
      - { name: bad, echo: { status: 503 } }
`);
  await mesh.apply(`
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: routes }
spec:
  parentRefs: [{ name: gateway }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /dead } }]
      backendRefs: [{ name: dead }]
      retry: { codes: [503], attempts: 3, backoff: 1ms }
    - matches: [{ path: { type: PathPrefix, value: /flaky } }]
      backendRefs: [{ name: flaky }]
---
apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: gateway-budget }
spec:
  targetRefs: [{ kind: Gateway, name: gateway }]
  retryBudget: { percent: 20, minRetriesPerSecond: 0 }
---
apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: flaky }
spec:
  targetRefs: [{ kind: Service, name: flaky }]
  outlierDetection: { consecutiveErrors: 3, interval: 1s, baseEjectionTime: 1s, maxEjectionPercent: 50 }
`);
});
afterAll(() => mesh?.stop());

describe("retry budget", () => {
  it("keeps upstream load under 1.25x client requests against a dead backend", async () => {
    let tries = 0;
    const clients = 200;
    for (let i = 0; i < clients; i++) {
      const res = await mesh.get("/dead");
      expect(res.status).toBe(503);
      tries += Number(res.headers["x-isomesh-attempts"]);
    }
    // Without the budget this would be 4x (1 try + 3 retries each).
    expect(tries / clients).toBeLessThanOrEqual(1.25);
    expect(tries).toBeGreaterThan(clients); // some retries were still allowed
  });
});

describe("outlier detection", () => {
  it("ejects a failing version, probes it when half-open, and ejects it again for longer", async () => {
    const statuses = async (n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await mesh.get("/flaky")).status);
      return out;
    };
    // Until `bad` has failed 3 times in a row, some requests fail.
    const first = await statuses(40);
    expect(first.filter((s) => s === 503).length).toBe(3);
    // Ejected: everything goes to `good`.
    expect((await statuses(20)).every((s) => s === 200)).toBe(true);
    // After the ejection time one probe reaches `bad`, fails, and it is ejected for 2 s.
    await new Promise((r) => setTimeout(r, 1100));
    const afterProbe = await statuses(20);
    expect(afterProbe.filter((s) => s === 503).length).toBe(1);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await statuses(20)).every((s) => s === 200)).toBe(true); // still ejected: 2 s this time
  });

  it("answers 503 circuit_open when every backend is ejected", async () => {
    await mesh.apply(`
apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: dead }
spec:
  targetRefs: [{ kind: Service, name: dead }]
  outlierDetection: { consecutiveErrors: 2, interval: 1s, baseEjectionTime: 30s, maxEjectionPercent: 100 }
`);
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) seen.push((await mesh.get("/dead")).headers["x-isomesh-error"] ?? "backend");
    expect(seen).toContain("circuit_open");
    const res = await mesh.get("/dead");
    expect(res.status).toBe(503);
    expect(res.json().error).toMatchObject({ code: "circuit_open", policy: "dead" });
  });
});
