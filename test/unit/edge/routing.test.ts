import { describe, expect, it } from "vitest";
import { testMesh } from "../../helpers/edge.ts";

// Routing through the gateway and a service edge, in process (the pipeline with echo backends):
// what the in-workerd suite used to test with a whole mesh (test/workers/edge-routing.test.ts keeps the wiring).

const manifest = `name: test
services:
  - { name: web, versions: [{ name: v1, echo: true }, { name: v2, echo: true }] }
  - { name: api, versions: [{ name: v1, echo: true }] }
`;
const gatewayRoutes = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web }
spec:
  parentRefs: [{ name: gateway }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /web } }]
      backendRefs: [{ name: web }]
    - matches: [{ path: { type: PathPrefix, value: /api } }]
      backendRefs: [{ name: api }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: shop }
spec:
  parentRefs: [{ name: gateway }]
  hostnames: [shop.example]
  rules:
    - matches: [{ path: { type: Exact, value: /cart }, headers: [{ name: x-beta, value: "1" }], queryParams: [{ name: v, value: "2" }], method: GET }]
      backendRefs: [{ name: api }]
    - backendRefs: [{ name: web }]
`;
const json = async (r: Response) =>
  (await r.json()) as {
    service: string;
    version: string;
    path: string;
    host: string;
    caller: string;
    headers: Record<string, string>;
  };

describe("routing", () => {
  it("answers 404 no_route as JSON when no route exists", async () => {
    const res = await testMesh(manifest).request("/web");
    expect(res.status).toBe(404);
    expect(res.headers.get("x-isomesh-error")).toBe("no_route");
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("no_route");
  });

  const mesh = testMesh(manifest, gatewayRoutes);

  it("routes by path prefix through the gateway and the service edge, stamping the response", async () => {
    const res = await mesh.request("/api/items?x=1");
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ service: "api", version: "v1", path: "/api/items?x=1", caller: "gateway" });
    expect(res.headers.get("x-isomesh-backend")).toBe("api/v1");
    expect(res.headers.get("x-isomesh-attempts")).toBe("1");
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("keeps a client's x-request-id", async () => {
    const res = await mesh.request("/web/", { headers: { "x-request-id": "req-123" } });
    expect(res.headers.get("x-request-id")).toBe("req-123");
    expect((await json(res)).headers["x-request-id"]).toBe("req-123");
  });

  it("splits equally across versions when a service has no route", async () => {
    const seen: Record<string, number> = { v1: 0, v2: 0 };
    for (let i = 0; i < 200; i++) seen[(await json(await mesh.request("/web/x"))).version]++;
    // Binomial(200, 0.5): P(one side < 60) is below 1e-8.
    expect(seen.v1).toBeGreaterThanOrEqual(60);
    expect(seen.v2).toBeGreaterThanOrEqual(60);
  });

  it.each([
    ["path, header, query and method together", "/cart?v=2", { "x-beta": "1" }, "GET", "api"],
    ["without the header", "/cart?v=2", {}, "GET", "web"],
    ["with another method", "/cart?v=2", { "x-beta": "1" }, "POST", "web"],
    ["an exact hostname's routes only (the catch-all route's /api does not apply)", "/api/x", {}, "GET", "web"],
  ])("routes by Host header: %s", async (_name, path, headers, method, service) => {
    expect((await json(await mesh.request(path, { host: "shop.example", headers, method }))).service).toBe(service);
  });

  it("splits by weight with GAMMA routes on a service, matching on headers", async () => {
    const split = testMesh(
      manifest,
      `${gatewayRoutes}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web-split }
spec:
  parentRefs: [{ kind: Service, name: web }]
  rules:
    - matches: [{ headers: [{ name: end-user, value: jason }] }]
      backendRefs: [{ name: web, version: v2 }]
    - backendRefs: [{ name: web, version: v1, weight: 1 }, { name: web, version: v2, weight: 0 }]
`,
    );
    for (let i = 0; i < 20; i++) expect((await json(await split.request("/web/x"))).version).toBe("v1");
    expect((await split.request("/web/x", { headers: { "end-user": "jason" } })).headers.get("x-isomesh-backend")).toBe(
      "web/v2",
    );
  });

  it("strips x-isomesh-* headers that arrive from outside", async () => {
    const body = await json(
      await mesh.request("/api/x", {
        headers: { "x-isomesh-caller": "productpage", "x-isomesh-principal": "evil/admin" },
      }),
    );
    expect(body.headers["x-isomesh-principal"]).toBeUndefined();
    expect(body.caller).toBe("gateway");
  });

  it("routes on the query the client sent, whatever a stage removes from the backend's URL", async () => {
    const route = testMesh(
      manifest,
      `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: q }
spec:
  parentRefs: [{ name: gateway }]
  rules:
    - matches: [{ queryParams: [{ name: v, value: "2" }] }]
      backendRefs: [{ name: api }]
    - backendRefs: [{ name: web }]
`,
    );
    expect((await json(await route.request("/x?v=2"))).service).toBe("api");
    expect((await json(await route.request("/x?v=3"))).service).toBe("web");
  });
});
