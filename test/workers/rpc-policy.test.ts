import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { eventually } from "../helpers/eventually.ts";
import { gatewayRouteTo, startTestMesh, type TestMesh } from "../helpers/mesh.ts";
import { call, RPC_MANIFEST } from "../helpers/rpc.ts";
import { INLINE } from "../helpers/data-plane.ts";

// The mesh's behaviour on Workers RPC calls, end to end in workerd: each resource the docs show
// for RPC (docs/traffic.md#workers-rpc, docs/security.md#workers-rpc-allow-or-deny-by-method)
// changes what web's calls to ratings do, as it would for fetch.

let mesh: TestMesh;
const route = (rules: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ratings }
spec:
  parentRefs: [{ kind: Service, name: ratings }]
  rules:
${rules}`;
const policy = (spec: string, kind = "TrafficPolicy") => `apiVersion: isomesh.dev/v1
kind: ${kind}
metadata: { name: ratings }
spec:
  targetRefs: [{ kind: Service, name: ratings }]
${spec}`;
const remove = async (kind: string, name: string) => {
  const res = await mesh.admin(`/v1/resources/${kind}/${name}?wait=true`, { method: "DELETE" });
  if (res.status !== 200 && res.status !== 404) throw new Error(`delete ${kind}/${name}: ${res.status} ${res.body}`);
};
const versionsOf = async (method: string, args: unknown[], n: number) => {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const { value, error } = await call(mesh, "RATINGS", method, args);
    if (error) throw new Error(`${method} failed: ${error.message}`);
    const v = typeof value === "string" ? value.slice(-2) : value.version;
    seen.set(v, (seen.get(v) ?? 0) + 1);
  }
  return Object.fromEntries(seen);
};
const metrics = async () => (await mesh.admin("/metrics")).body;

beforeAll(async () => {
  mesh = await startTestMesh(RPC_MANIFEST);
  await mesh.apply(gatewayRouteTo("web"));
});
afterAll(() => mesh?.stop());
beforeEach(async () => {
  for (const kind of ["HTTPRoute/ratings", "TrafficPolicy/ratings", "AuthorizationPolicy/ratings"])
    await remove(...(kind.split("/") as [string, string]));
});

describe("routing Workers RPC calls", () => {
  it("by method (GRPCRoute style): the rpc match wins for its method, the catch-all takes the rest", async () => {
    await mesh.apply(
      route(`    - matches: [{ rpc: { method: getReviews } }]
      backendRefs: [{ name: ratings, version: v2 }]
    - backendRefs: [{ name: ratings, version: v1 }]`),
    );
    expect((await call(mesh, "RATINGS", "getReviews", [1])).value).toEqual([{ id: 1, text: "reviewed on v2" }]);
    expect(await versionsOf("getRating", [1], 5)).toEqual({ v1: 5 });
  });

  it("a weighted split and a pinned version apply to RPC as to fetch", async () => {
    await mesh.apply(
      route(
        `    - backendRefs: [{ name: ratings, version: v1, weight: 0 }, { name: ratings, version: v2, weight: 1 }]`,
      ),
    );
    expect(await versionsOf("getRating", [1], 5)).toEqual({ v2: 5 });
  });

  it("sticky on an argument: one key keeps one version", async () => {
    await mesh.apply(policy("  stickySession: { hashOn: { argument: 0 } }"));
    for (const id of [1, 2, 3, 4]) expect(Object.keys(await versionsOf("getRating", [id], 6))).toHaveLength(1);
  });

  it("a call to a method the picked version lacks: no_method, counted with its status", async () => {
    await mesh.apply(route(`    - backendRefs: [{ name: ratings, version: v1 }]`));
    const { error } = await call(mesh, "RATINGS", "getReviews", [1]);
    expect(error).toMatchObject({
      ctor: "TypeError",
      message: 'isomesh no_method: ratings/v1 does not implement the RPC method "getReviews"',
    });
    await eventually(
      metrics,
      (m) =>
        /isomesh_requests_total\{reporter="ratings-edge",source_workload="web",destination_service="ratings",destination_version="v1",route="ratings",response_code="404",rpc_method="\(unknown\)"\} [1-9]/.test(
          m,
        ),
      { what: "the no_method call counted 404 with rpc_method (unknown)" },
    );
  });
});

describe("authorizing Workers RPC calls", () => {
  it("ALLOW by method: the allowed method answers, another is denied with the code in the message", async () => {
    await mesh.apply(
      policy(
        `  action: ALLOW
  rules: [{ from: [{ source: { principals: [web] } }], to: [{ operation: { rpcMethods: [getRating, "Admin.*"] } }] }]`,
        "AuthorizationPolicy",
      ),
    );
    expect((await call(mesh, "RATINGS", "getRating", [1])).value).toMatchObject({ id: 1 });
    expect((await call(mesh, "RATINGS_ADMIN", "reset", [1])).value).toMatch(/^reset 1/);
    const { error } = await call(mesh, "RATINGS", "boom");
    expect(error).toMatchObject({ ctor: "Error" });
    expect(error!.message).toMatch(/^isomesh rbac_denied: /);
    await eventually(metrics, (m) => /response_code="403",rpc_method="boom"\} [1-9]/.test(m), {
      what: "the denied call counted 403 with its method",
    });
  });

  it("DENY by method for every caller but one; an HTTP-only rule does not open RPC", async () => {
    await mesh.apply(
      policy(
        `  action: DENY
  rules: [{ from: [{ source: { notPrincipals: [productpage] } }], to: [{ operation: { rpcMethods: ["Admin.*"] } }] }]`,
        "AuthorizationPolicy",
      ),
    );
    expect((await call(mesh, "RATINGS_ADMIN", "reset", [1])).error?.message).toMatch(/^isomesh rbac_denied: /);
    expect((await call(mesh, "RATINGS", "getRating", [1])).value).toMatchObject({ id: 1 });
    await mesh.apply(
      policy(
        `  action: ALLOW
  rules: [{ to: [{ operation: { paths: ["/*"] } }] }]`,
        "AuthorizationPolicy",
      ),
    );
    expect((await call(mesh, "RATINGS", "getRating", [1])).error?.message).toMatch(/^isomesh rbac_denied: /);
  });

  it.runIf(INLINE)(
    "inline: a caller that skips its client still meets the callee's policy (identity from the binding's props)",
    async () => {
      await mesh.apply(
        policy(
          `  action: DENY
  rules: [{ from: [{ source: { principals: [web] } }], to: [{ operation: { rpcMethods: [getRating, "Admin.*"] } }] }]`,
          "AuthorizationPolicy",
        ),
      );
      const scenario = async (name: string) =>
        (await mesh.get(`/scenario/${name}`)).json<{ error?: { ctor: string; message: string } }>();
      expect((await scenario("bypass")).error?.message).toMatch(
        /^isomesh rbac_denied: web may not call ratings\.getRating/,
      );
      expect((await scenario("bypassNamed")).error?.message).toMatch(
        /^isomesh rbac_denied: web may not call ratings\.Admin\.reset/,
      );
    },
  );
});

describe("resilience for Workers RPC calls", () => {
  it("a timed-out call: upstream_timeout well before the method returns, counted 504 with timed_out", async () => {
    await mesh.apply(
      route(`    - backendRefs: [{ name: ratings, version: v1 }]
      timeouts: { request: 300ms }`),
    );
    const started = Date.now();
    const { error } = await call(mesh, "RATINGS", "slow", [5000]);
    expect(error?.message).toMatch(/^isomesh upstream_timeout: /);
    expect(Date.now() - started).toBeLessThan(4000);
    await eventually(
      metrics,
      (m) => /response_code="504",rpc_method="slow"\} [1-9]/.test(m) && /flag="timed_out"/.test(m),
      { what: "the timed-out call counted 504 with the timed_out flag" },
    );
  });

  it("retries only a method declared idempotent", async () => {
    await mesh.apply(
      route(`    - backendRefs: [{ name: ratings, version: v1 }]
      retry: { attempts: 2, backoff: 1ms }`),
    );
    expect((await call(mesh, "RATINGS", "flaky", ["a", 1])).error?.message).toBe("flaky a: failure 1 of 1");
    await mesh.apply(policy("  idempotentMethods: [flaky]"));
    expect((await call(mesh, "RATINGS", "flaky", ["b", 1])).value).toEqual({ key: "b", tries: 2, version: "v1" });
    expect((await call(mesh, "RATINGS", "flaky", ["c", 5])).error?.message).toBe("flaky c: failure 3 of 5"); // 1 + 2 retries
  });

  it("rate limits keyed on an argument", async () => {
    // A local bucket lives in the isolate that counts: the edge's, or inline the callee version's (one version here).
    await mesh.apply(route(`    - backendRefs: [{ name: ratings, version: v1 }]`));
    await mesh.apply(policy("  rateLimits: [{ requests: 2, per: 1m, key: { argument: 0 } }]"));
    for (let i = 0; i < 2; i++)
      expect((await call(mesh, "RATINGS", "getRating", [11])).value).toMatchObject({ id: 11 });
    expect((await call(mesh, "RATINGS", "getRating", [11])).error?.message).toMatch(/^isomesh rate_limited: /);
    expect((await call(mesh, "RATINGS", "getRating", [12])).value).toMatchObject({ id: 12 });
  });

  it("fault injection by method: an abort for the matched method only", async () => {
    await mesh.apply(
      policy("  faultInjection: { match: { rpcMethods: [getRating] }, abort: { httpStatus: 503, percentage: 100 } }"),
    );
    expect((await call(mesh, "RATINGS", "getRating", [1])).error?.message).toMatch(/^isomesh fault_abort: /);
    expect((await call(mesh, "RATINGS", "echo", ["x"])).value).toBe("x");
  });

  it("outlier detection ejects the version whose method keeps throwing", async () => {
    await mesh.apply(
      policy(
        "  outlierDetection: { consecutiveErrors: 2, interval: 1s, baseEjectionTime: 30s, maxEjectionPercent: 50 }",
      ),
    );
    const answers: string[] = [];
    for (let i = 0; i < 30; i++) {
      const { value, error } = await call(mesh, "RATINGS", "unstable");
      answers.push(error ? "error" : String(value));
    }
    // At most consecutiveErrors failures before v2 is ejected; then v1 answers everything.
    expect(answers.filter((a) => a === "error").length).toBeLessThanOrEqual(2);
    expect(answers.slice(-10)).toEqual(Array(10).fill("stable on v1"));
  });
});

describe("observing Workers RPC calls", () => {
  it("metrics carry the method; the access log and the span name it", async () => {
    await call(mesh, "RATINGS", "getRating", [1]);
    await eventually(
      metrics,
      (m) =>
        /destination_service="ratings",destination_version="v[12]",route="default",response_code="200",rpc_method="getRating"\} [1-9]/.test(
          m,
        ),
      { what: "getRating counted 200 with its method" },
    );
    const line = await eventually(
      async () =>
        mesh.logs.find(
          (l) =>
            l.includes('"type":"access"') &&
            l.includes('"edge":"ratings-edge"') &&
            l.includes('"rpcMethod":"getRating"'),
        ),
      (l) => l !== undefined,
    );
    expect(JSON.parse(line!)).toMatchObject({ caller: "web", protocol: "rpc", rpcMethod: "getRating", status: 200 });
  });

  it("explain shows what the edge would decide for an RPC call", async () => {
    await mesh.apply(
      route(`    - matches: [{ rpc: { method: getReviews } }]
      backendRefs: [{ name: ratings, version: v2 }]
    - backendRefs: [{ name: ratings, version: v1 }]`),
    );
    const res = await mesh.admin("/v1/explain", {
      method: "POST",
      body: JSON.stringify({ service: "ratings", caller: "web", rpc: { method: "getReviews" } }),
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(200);
    const decisions = res
      .json()
      .hops[0].decisions.map((d: { stage: string; decision: string }) => `${d.stage}: ${d.decision}`);
    expect(decisions).toEqual([
      "authz: allowed: no AuthorizationPolicy targets this workload",
      "route: matched HTTPRoute/ratings rule 0 (rpc match)",
      "timeout: request timeout 15000 ms (mesh default)",
      "split: always ratings/v2",
    ]);
    const other = await mesh.admin("/v1/explain", {
      method: "POST",
      body: JSON.stringify({ service: "ratings", caller: "web", rpc: { method: "getRating" } }),
      headers: { "content-type": "application/json" },
    });
    expect(other.json().hops[0].decisions.map((d: { decision: string }) => d.decision)).toContain(
      "matched HTTPRoute/ratings rule 1 (catch-all)",
    );
  });
});
