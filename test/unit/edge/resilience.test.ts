import { afterEach, describe, expect, it, vi } from "vitest";
import { explainSynthetic, SyntheticRequest } from "../../../shared/explain/synthetic.ts";
import { compileFor, testMesh } from "../../helpers/edge.ts";

// Retry budget and outlier detection through the gateway and a service edge, in process. Outlier
// detection's clock is faked (Date only): ejection times pass without waiting.

const manifest = `name: resilience
services:
  - { name: dead, versions: [{ name: v1, echo: true }] }
  - { name: flaky, versions: [{ name: good, echo: true }, { name: bad, echo: true }] }
`;
const config = (flakyPolicy: string) => `apiVersion: gateway.networking.k8s.io/v1
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
${flakyPolicy}`;
const outliers = (name: string, spec: string) => `apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: ${name} }
spec:
  targetRefs: [{ kind: Service, name: ${name} }]
  outlierDetection: ${spec}
`;
// `dead` and flaky's `bad` answer 503, everything else 200.
const unhealthy = (service: string) => (version: string) =>
  service === "dead" || version === "bad" ? new Response("down", { status: 503 }) : new Response("ok");

afterEach(() => vi.useRealTimers());

describe("retry budget", () => {
  it("keeps upstream load under 1.25x client requests against a dead backend", async () => {
    const mesh = testMesh(manifest, config(outliers("flaky", "{ consecutiveErrors: 3 }")), { backend: unhealthy });
    let tries = 0;
    const clients = 400;
    for (let i = 0; i < clients; i++) {
      const res = await mesh.request("/dead");
      expect(res.status).toBe(503);
      tries += Number(res.headers.get("x-isomesh-attempts"));
    }
    // Without the budget this would be 4x (1 try + 3 retries each).
    expect(tries / clients).toBeLessThanOrEqual(1.25);
    expect(tries).toBeGreaterThan(clients); // some retries were still allowed
  });
});

describe("outlier detection", () => {
  it("ejects a failing version, probes it when half-open, and ejects it again for longer", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const mesh = testMesh(
      manifest,
      config(outliers("flaky", "{ consecutiveErrors: 3, interval: 1s, baseEjectionTime: 1s, maxEjectionPercent: 50 }")),
      { backend: unhealthy },
    );
    const statuses = async (n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await mesh.request("/flaky")).status);
      return out;
    };
    // Until `bad` has failed 3 times in a row, some requests fail.
    expect((await statuses(60)).filter((s) => s === 503)).toHaveLength(3);
    expect((await statuses(20)).every((s) => s === 200)).toBe(true); // ejected: everything goes to `good`
    // After the ejection time one probe reaches `bad`, fails, and it is ejected for 2 s.
    vi.setSystemTime(Date.now() + 1100);
    expect((await statuses(30)).filter((s) => s === 503)).toHaveLength(1);
    vi.setSystemTime(Date.now() + 1100);
    expect((await statuses(20)).every((s) => s === 200)).toBe(true); // still ejected: 2 s this time
    vi.setSystemTime(Date.now() + 1000);
    expect((await statuses(30)).filter((s) => s === 503)).toHaveLength(1); // the next probe
  });

  it("answers 503 circuit_open when every backend is ejected", async () => {
    const mesh = testMesh(
      manifest,
      config(
        outliers("dead", "{ consecutiveErrors: 2, interval: 1s, baseEjectionTime: 30s, maxEjectionPercent: 100 }"),
      ),
      { backend: unhealthy },
    );
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) seen.push((await mesh.request("/dead")).headers.get("x-isomesh-error") ?? "backend");
    expect(seen).toContain("circuit_open");
    const res = await mesh.request("/dead");
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: object }).error).toMatchObject({ code: "circuit_open", policy: "dead" });
  });

  it("never counts weight-0 backends, and leaves a route without weight to the split (no_backend)", async () => {
    const mesh = testMesh(
      manifest,
      `${config(outliers("flaky", "{ consecutiveErrors: 1 }"))}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: flaky }
spec:
  parentRefs: [{ kind: Service, name: flaky }]
  rules: [{ backendRefs: [{ name: flaky, version: good, weight: 0 }, { name: flaky, version: bad, weight: 0 }] }]
`,
      { backend: unhealthy },
    );
    const res = await mesh.request("/flaky");
    expect(res.status).toBe(500);
    expect(res.headers.get("x-isomesh-error")).toBe("no_backend");
  });
});

describe("the destination's retry budget bounds the gateway's route retries", () => {
  const routes = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: routes }
spec:
  parentRefs: [{ name: gateway }]
  rules:
    - backendRefs: [{ name: dead }]
      retry: { codes: [503], attempts: 3, backoff: 1ms }
---
apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: dead }
spec:
  targetRefs: [{ kind: Service, name: dead }]
  retryBudget: { percent: 20, minRetriesPerSecond: 0 }
`;

  it("a dead backend behind a gateway route with 3 retries sees at most 1.25x the load (attempts counted at the backend)", async () => {
    const mesh = testMesh(manifest, routes, { backend: unhealthy });
    const clients = 400;
    for (let i = 0; i < clients; i++) expect((await mesh.request("/dead")).status).toBe(503);
    const attempts = mesh.edge("dead-edge").sent.length;
    // With the gateway's default budget (20% + 10/s over 10 s) this would be 1.45x; without any, 4x.
    expect(attempts / clients).toBeLessThanOrEqual(1.25);
    expect(attempts).toBeGreaterThan(clients); // the budget still allows some retries
  });

  it("synthetic explain names the destination's budget at the gateway", () => {
    const gateway = compileFor(manifest, "gateway", routes);
    const [hop] = explainSynthetic(SyntheticRequest.parse({ path: "/dead" }), (e) =>
      e === "gateway" ? gateway : undefined,
    );
    expect(hop.decisions.filter((d) => d.stage === "retry")).toEqual([
      expect.objectContaining({
        decision:
          "up to 3 retries on 503 or no answer, within dead's retry budget: 20% of requests + 0/s (TrafficPolicy/dead)",
        policy: "dead",
      }),
    ]);
  });

  it("the gateway's snapshot carries the budgets of the services its routes send to, and only those", () => {
    const other = `---
apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: flaky }
spec:
  targetRefs: [{ kind: Service, name: flaky }]
  retryBudget: { percent: 50 }
`;
    const gateway = compileFor(manifest, "gateway", routes + other);
    expect(gateway.retryBudgets).toEqual({
      dead: { policy: "dead", budget: { percent: 20, minRetriesPerSecond: 0 } },
    });
    expect(gateway.policy).toBeUndefined(); // a service's policy is not the gateway's own
    expect(compileFor(manifest, "dead-edge", routes).policy?.retryBudget).toEqual({
      percent: 20,
      minRetriesPerSecond: 0,
    });
  });
});
