import { resolve } from "node:path";
import { INLINE } from "../helpers/data-plane.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestMesh, type TestMesh, VIEWER_TOKEN } from "../helpers/mesh.ts";

const forwarder = resolve("test/helpers/forwarder.ts");
let mesh: TestMesh;

const routes = (reviewsWeights: { v1: number; v2: number }) => `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: shop }
spec:
  parentRefs: [{ name: gateway }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: / } }]
      backendRefs: [{ name: front }]
    - matches: [{ path: { type: Exact, value: /shop } }]
      backendRefs: [{ name: front }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: reviews }
spec:
  parentRefs: [{ kind: Service, name: reviews }]
  rules:
    - matches: [{ headers: [{ name: end-user, value: jason }] }]
      backendRefs: [{ name: reviews, version: v2 }]
      retry: { codes: [503], attempts: 2, backoff: 10ms }
      timeouts: { request: 3s }
    - backendRefs: [{ name: reviews, version: v1, weight: ${reviewsWeights.v1} }, { name: reviews, version: v2, weight: ${reviewsWeights.v2} }]
`;

beforeAll(async () => {
  mesh = await startTestMesh(`name: explain
services:
  - name: front
    versions: [{ name: v1, worker: ${forwarder} }]
    calls: [reviews]
  - name: reviews
    versions: [{ name: v1, echo: true }, { name: v2, echo: true }]
`);
  await mesh.apply(`${routes({ v1: 80, v2: 20 })}
---
apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: deny-admin }
spec:
  targetRefs: [{ kind: Gateway, name: gateway }]
  action: DENY
  rules: [{ to: [{ operation: { paths: ["/admin*"] } }] }]
---
apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: reviews-callers }
spec:
  targetRefs: [{ kind: Service, name: reviews }]
  rules: [{ from: [{ source: { principals: [front] } }] }]
`);
});
afterAll(() => mesh?.stop());

type Hop = { edge: string; decisions: { stage: string; decision: string; [k: string]: unknown }[]; children: Hop[] };

/** The decision tree of a real request; records reach the control plane within about a second. */
async function explained(id: string, hops: number): Promise<Hop[]> {
  // Inline, a service's hop arrives in two records (its caller's isolate, then its own): wait for both.
  const complete = (n: Hop) => !INLINE || n.edge === "gateway" || n.decisions.some((d) => d.isolate === "callee");
  const count = (ns: Hop[]): number => ns.reduce((a, n) => a + (complete(n) ? 1 : 0) + count(n.children), 0);
  for (let i = 0; i < 60; i++) {
    const res = await mesh.admin(`/v1/explain/${id}`, { token: VIEWER_TOKEN });
    if (res.status === 200 && count(res.json().hops) >= hops) return res.json().hops;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no complete decision record for ${id}`);
}
const stage = (hop: Hop, name: string) => hop.decisions.filter((d) => d.stage === name);
const debug = { "x-isomesh-debug": VIEWER_TOKEN };

describe("decision records of real requests", () => {
  it("records every hop as one tree: gateway route, reviews rule and split, authorization", async () => {
    const res = await mesh.get("/shop", { headers: { ...debug, "x-forward-to": "REVIEWS", "end-user": "jason" } });
    expect(res.status).toBe(200);
    expect(res.json().version).toBe("v2");
    const id = res.headers["x-isomesh-explain"];
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const [gateway] = await explained(id, 3);
    expect(gateway.edge).toBe("gateway");
    expect(stage(gateway, "route")[0]).toMatchObject({
      route: "shop",
      rule: 1,
      beat: ["exact path /shop beat prefix / (Exact ranks before PathPrefix)"],
    });
    const front = gateway.children[0];
    expect(front.edge).toBe("front-edge");
    const reviews = front.children[0];
    expect(reviews.edge).toBe("reviews-edge");
    expect(stage(reviews, "authz")[0]).toMatchObject({
      decision: "ALLOW policy reviews-callers rule 0 matched",
      caller: "front",
    });
    expect(stage(reviews, "route")[0]).toMatchObject({ route: "reviews", rule: 0, beat: ["1 header matches beat 0"] });
    expect(stage(reviews, "split")[0]).toMatchObject({ decision: "picked reviews/v2" });
  });

  it("names the denying policy and rule, in the error and in the record", async () => {
    const res = await mesh.get("/admin/users", { headers: debug });
    expect(res.status).toBe(403);
    expect(res.json().error).toMatchObject({ code: "rbac_denied", policy: "deny-admin", rule: 0 });
    const [gateway] = await explained(res.headers["x-isomesh-explain"], 1);
    expect(stage(gateway, "authz")[0]).toMatchObject({
      decision: "DENY policy deny-admin rule 0 matched",
      policy: "deny-admin",
      rule: 0,
    });
    expect(stage(gateway, "route")).toEqual([]); // denied before routing
  });

  it("shows each attempt of a retried, time-limited request with the deadline left", async () => {
    const key = `k${Date.now()}`;
    const res = await mesh.get("/shop", {
      headers: {
        ...debug,
        "x-forward-to": "REVIEWS",
        "end-user": "jason",
        "x-echo-fail-times": "2",
        "x-echo-key": key,
      },
    });
    expect(res.status).toBe(200);
    const [gateway] = await explained(res.headers["x-isomesh-explain"], 3);
    const attempts = stage(gateway.children[0].children[0], "attempt");
    expect(attempts.map((a) => [a.decision, a.next])).toEqual([
      ["try 1: 503", "retry"],
      ["try 2: 503", "retry"],
      ["try 3: 200", "done"],
    ]);
    for (const a of attempts) expect(a.deadlineLeftMs).toBeGreaterThan(0);
    expect(attempts[0].deadlineLeftMs as number).toBeLessThanOrEqual(3000);
    expect(attempts[2].deadlineLeftMs as number).toBeLessThan(attempts[0].deadlineLeftMs as number);
  });

  it("ignores a wrong debug token: the response is the same as without one", async () => {
    const plain = await mesh.get("/shop", { headers: { "x-forward-to": "REVIEWS", "end-user": "jason" } });
    for (const token of ["wrong", "Bearer " + VIEWER_TOKEN, "x".repeat(600)]) {
      const res = await mesh.get("/shop", {
        headers: { "x-isomesh-debug": token, "x-forward-to": "REVIEWS", "end-user": "jason" },
      });
      expect(res.status).toBe(plain.status);
      expect(res.headers["x-isomesh-explain"]).toBeUndefined();
      expect(Object.keys(res.headers).sort()).toEqual(Object.keys(plain.headers).sort());
      const strip = (b: any) => ({
        ...b,
        headers: Object.fromEntries(
          Object.entries(b.headers).filter(
            ([k]) => !["traceparent", "tracestate", "x-request-id", "x-isomesh-deadline-ms"].includes(k),
          ),
        ),
      });
      expect(strip(res.json())).toEqual(strip(plain.json()));
    }
  });

  it("never shows a denial's details to a client without a debug token beyond the error", async () => {
    const res = await mesh.get("/admin/users");
    expect(res.headers["x-isomesh-explain"]).toBeUndefined();
    expect(Object.keys(res.json().error).sort()).toEqual(["code", "message", "policy", "rule"]);
  });
});

// Synthetic explain's decisions are tested in process (test/unit/explain-synthetic.test.ts); here, once,
// against what the edges in workerd recorded for the same request.
describe("synthetic explanations agree with real ones", () => {
  it("the same request, evaluated in the control plane and sent for real, decides the same", async () => {
    const headers = { "x-forward-to": "REVIEWS", "end-user": "jason" };
    const real = await mesh.get("/shop", { headers: { ...debug, ...headers } });
    const [gateway] = await explained(real.headers["x-isomesh-explain"], 3);
    const synthetic = (
      await mesh.admin("/v1/explain", {
        method: "POST",
        body: JSON.stringify({ path: "/shop", headers }),
        token: VIEWER_TOKEN,
      })
    ).json();
    const sgw = synthetic.hops[0];
    const pick = (d: Record<string, unknown>) => ({ decision: d.decision, route: d.route, rule: d.rule, beat: d.beat });
    expect(pick(stage(sgw, "route")[0])).toEqual(pick(stage(gateway, "route")[0]));
    expect(sgw.children.map((c: Hop) => c.edge)).toEqual(["front-edge"]);

    // The east-west hop the app made: reviews called by front.
    const ew = (
      await mesh.admin("/v1/explain", {
        method: "POST",
        body: JSON.stringify({ service: "reviews", caller: "front", headers }),
        token: VIEWER_TOKEN,
      })
    ).json().hops[0];
    const realReviews = gateway.children[0].children[0];
    expect(pick(stage(ew, "route")[0])).toEqual(pick(stage(realReviews, "route")[0]));
    expect(stage(ew, "authz")[0].decision).toBe(stage(realReviews, "authz")[0].decision);
    expect(stage(ew, "split")[0]).toMatchObject({ decision: "always reviews/v2" });
  });

  it("refuses a caller that cannot make the call (bindings exist only for declared calls)", async () => {
    const ask = async (body: object) => {
      const res = await mesh.admin("/v1/explain", { method: "POST", body: JSON.stringify(body), token: VIEWER_TOKEN });
      return { status: res.status, error: res.json().errors?.[0] };
    };
    expect(await ask({ service: "reviews", caller: "bogus" })).toEqual({
      status: 422,
      error: {
        resource: "(request)",
        path: "caller",
        message: 'unknown caller "bogus" (expected gateway or one of front, reviews)',
      },
    });
    expect((await ask({ service: "front", caller: "reviews" })).error.message).toBe(
      "reviews does not call front: the manifest gives it bindings to no services",
    );
    expect((await ask({ caller: "front" })).error.message).toMatch(/caller needs service/);
  });
});

describe("confirmed convergence", () => {
  it("after apply?wait=true returns, 100 requests out of 100 see the change", async () => {
    for (const target of ["v2", "v1"] as const) {
      const res = await mesh.admin("/v1/apply?wait=true&timeout=5s", {
        method: "POST",
        body: routes(target === "v2" ? { v1: 0, v2: 100 } : { v1: 100, v2: 0 }),
      });
      expect(res.status).toBe(200);
      expect(res.json()).toMatchObject({ converged: true });
      const versions = await Promise.all(
        Array.from({ length: 100 }, () =>
          mesh.get("/", { headers: { "x-forward-to": "REVIEWS" } }).then((r) => r.json().version),
        ),
      );
      expect(versions.filter((v) => v === target)).toHaveLength(100);
    }
  });

  it("reports the share of edges converged", async () => {
    const status = (await mesh.admin("/v1/status")).json();
    expect(status.converged).toBe(1); // the share of edges running the current version
  });
});
