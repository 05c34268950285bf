import { resolve } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { eventually } from "../helpers/eventually.ts";
import { gatewayRouteTo, startTestMesh, type TestMesh } from "../helpers/mesh.ts";

// Adoption (DESIGN §2): front-app's own wrangler config binds the Worker "payments-api" (PAYMENTS,
// and its Admin entrypoint as PAYMENTS_ADMIN); the manifest meshes both projects and declares no
// `calls`. Every way the app reaches the binding (its handler's env, `import { env } from
// "cloudflare:workers"`, its Durable Object's env, its own entrypoint through ctx.exports) meets the
// mesh, in both data planes: each file's mesh runs in one of them, whatever the suite's mode.
const MANIFEST = `name: adopt
services:
  - name: front
    versions: [{ name: v1, worker: ${resolve("test/fixtures/adoption/front")} }]
  - name: payments
    versions: [{ name: v1, worker: ${resolve("test/fixtures/adoption/payments")} }]
`;
// A version deployed by its own pipeline runs its config as written (in edge mode: an inline callee
// needs the client isomesh builds into the caller, which gen refuses for a deployed version).
const KIOSK = `  - name: kiosk
    versions: [{ name: v1, deployed: kiosk-prod, worker: ${resolve("test/fixtures/adoption/front")} }]
`;
const DENY_FRONT = `apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: payments }
spec:
  targetRefs: [{ kind: Service, name: payments }]
  action: DENY
  rules: [{ from: [{ source: { principals: [front] } }] }]
`;
const STYLES = ["handler", "imported", "object", "exports"] as const;

describe.each(["edge", "inline"] as const)("%s data plane", (dataPlane) => {
  let mesh: TestMesh;
  beforeAll(async () => {
    mesh = await startTestMesh(dataPlane === "edge" ? MANIFEST + KIOSK : MANIFEST, { gen: { dataPlane } });
    await mesh.apply(gatewayRouteTo("front"));
  });
  afterAll(() => mesh?.stop());
  beforeEach(async () => {
    const res = await mesh.admin("/v1/resources/AuthorizationPolicy/payments?wait=true", { method: "DELETE" });
    if (res.status !== 200 && res.status !== 404) throw new Error(`delete: ${res.status} ${res.body}`);
  });

  it.each(STYLES)("a call through the %s's env is a mesh call (routed, counted)", async (style) => {
    const res = await mesh.get(`/${style}/pay`);
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({
      status: 200,
      backend: "payments/v1",
      body: { paid: true, path: "/pay", version: "v1" },
    });
  });

  it.each(STYLES)("a call through the %s's env meets payments' policy, with front's identity", async (style) => {
    await mesh.apply(DENY_FRONT);
    const res = await mesh.get(`/${style}/pay`);
    expect(res.json()).toMatchObject({ status: 403, body: { error: { code: "rbac_denied", policy: "payments" } } });
  });

  it.each(["handler", "imported"])("Workers RPC through the %s's env is meshed too", async (style) => {
    expect((await mesh.get(`/${style}/charge`)).json()).toEqual({
      status: 200,
      backend: null,
      body: { charged: 5, version: "v1" },
    });
    await mesh.apply(DENY_FRONT);
    const denied = (await mesh.get(`/${style}/charge`)).json();
    expect(denied).toMatchObject({ status: 502, body: { error: expect.stringContaining("isomesh rbac_denied") } });
  });

  it("a binding to a named entrypoint (entrypoint: Admin) reaches that entrypoint through the mesh", async () => {
    expect((await mesh.get("/admin/refund")).json()).toEqual({ refund: "refunded r1 on v1" });
  });

  it("the graph, the metrics and explain know the call, with no `calls:` in the manifest", async () => {
    await mesh.get("/handler/pay");
    const graph = await eventually(
      async () => (await mesh.admin("/v1/graph")).json(),
      (g) => g.edges.some((e: { source: string; target: string }) => e.source === "front" && e.target === "payments"),
      { ms: 15_000, what: "the graph to show front → payments" },
    );
    expect(graph.nodes.map((n: { id: string }) => n.id)).toEqual(expect.arrayContaining(["front", "payments"]));
    const series = (await mesh.admin("/metrics")).body.split("\n");
    expect(
      series.some(
        (l) =>
          l.startsWith("isomesh_requests_total{") &&
          l.includes('source_workload="front"') &&
          l.includes('destination_service="payments"'),
      ),
    ).toBe(true);
    const explained = await mesh.admin("/v1/explain", {
      method: "POST",
      body: JSON.stringify({ caller: "front", service: "payments", path: "/pay" }),
    });
    expect(explained.status).toBe(200); // before adoption: 422 "front does not call payments"
    expect(explained.json().hops[0]).toMatchObject({ edge: "payments-edge", caller: "front" });
  });

  it("a binding to a Worker outside the mesh stays as written: 503 service_not_local naming it", async () => {
    const res = await mesh.get("/legacy");
    expect(res.status).toBe(503);
    expect(res.json().error).toEqual({
      code: "service_not_local",
      message: expect.stringMatching(
        /binding LEGACY names the Worker "legacy-billing", which is not part of this mesh/,
      ),
    });
  });

  it.skipIf(dataPlane === "inline")(
    "a deployed version's own binding to a meshed Worker: the dev error says what that Worker is and what to do",
    async () => {
      await mesh.apply(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: kiosk }
spec:
  parentRefs: [{ name: gateway }]
  rules: [{ matches: [{ headers: [{ name: x-kiosk, value: "1" }] }], backendRefs: [{ name: kiosk }] }]
`);
      const res = await mesh.get("/handler/pay", { headers: { "x-kiosk": "1" } });
      expect(res.json()).toEqual({
        status: 503,
        backend: null,
        body: {
          error: {
            code: "service_not_local",
            message: expect.stringContaining(
              "kiosk-v1's binding PAYMENTS names \"payments-api\", the Worker of payments/v1's project, which this mesh runs only as a mesh service",
            ),
          },
        },
      });
    },
  );

  it("a binding to its own Worker (a self-reference) reaches the same version", async () => {
    expect((await mesh.get("/self")).json()).toEqual({ hello: "from front" });
  });
});
