import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { echoManifest, startTestMesh, type TestMesh } from "../helpers/mesh.ts";

let mesh: TestMesh;
beforeAll(async () => {
  mesh = await startTestMesh(echoManifest({ web: ["v1", "v2"], api: ["v1"] }));
});
afterAll(() => mesh?.stop());

const gatewayRoutes = `
apiVersion: gateway.networking.k8s.io/v1
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

describe("edge routing in workerd", () => {
  it("answers 404 no_route as JSON before any route exists", async () => {
    const res = await mesh.get("/web");
    expect(res.status).toBe(404);
    expect(res.headers["x-isomesh-error"]).toBe("no_route");
    expect(res.json().error.code).toBe("no_route");
  });

  it("routes by path prefix through the gateway and the service edge", async () => {
    await mesh.apply(gatewayRoutes);
    const res = await mesh.get("/api/items?x=1");
    expect(res.status).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      service: "api",
      version: "v1",
      method: "GET",
      path: "/api/items?x=1",
      caller: "gateway",
    });
    expect(res.headers["x-isomesh-backend"]).toBe("api/v1");
    expect(res.headers["x-isomesh-attempts"]).toBe("1");
    expect(res.headers["x-request-id"]).toMatch(/[0-9a-f-]{36}/);
    expect(body.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it("keeps a client's x-request-id", async () => {
    const res = await mesh.get("/web/", { headers: { "x-request-id": "req-123" } });
    expect(res.headers["x-request-id"]).toBe("req-123");
    expect(res.json().headers["x-request-id"]).toBe("req-123");
  });

  it("splits equally across versions when a service has no route", async () => {
    const seen = { v1: 0, v2: 0 } as Record<string, number>;
    for (let i = 0; i < 60; i++) seen[(await mesh.get("/web/x")).json().version]++;
    // Binomial(60, 0.5): P(one side < 10) is about 1e-7.
    expect(seen.v1).toBeGreaterThanOrEqual(10);
    expect(seen.v2).toBeGreaterThanOrEqual(10);
  });

  it("routes by Host header, path, headers, query and method together", async () => {
    const hit = await mesh.get("/cart?v=2", { host: "shop.example", headers: { "x-beta": "1" } });
    expect(hit.json().service).toBe("api");
    const noHeader = await mesh.get("/cart?v=2", { host: "shop.example" });
    expect(noHeader.json().service).toBe("web");
    const wrongMethod = await mesh.get("/cart?v=2", {
      host: "shop.example",
      method: "POST",
      headers: { "x-beta": "1" },
    });
    expect(wrongMethod.json().service).toBe("web");
    // Exact hostname routes take the host: the catch-all route's /api does not apply on shop.example.
    expect((await mesh.get("/api/x", { host: "shop.example" })).json().service).toBe("web");
  });

  it("splits by weight with GAMMA routes on a service", async () => {
    await mesh.apply(`
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web-split }
spec:
  parentRefs: [{ kind: Service, name: web }]
  rules:
    - matches: [{ headers: [{ name: end-user, value: jason }] }]
      backendRefs: [{ name: web, version: v2 }]
    - backendRefs: [{ name: web, version: v1, weight: 1 }, { name: web, version: v2, weight: 0 }]
`);
    for (let i = 0; i < 20; i++) expect((await mesh.get("/web/x")).json().version).toBe("v1");
    expect((await mesh.get("/web/x", { headers: { "end-user": "jason" } })).headers["x-isomesh-backend"]).toBe(
      "web/v2",
    );
  });

  it("strips x-isomesh-* headers that arrive from outside", async () => {
    const res = await mesh.get("/api/x", {
      headers: { "x-isomesh-caller": "productpage", "x-isomesh-principal": "evil/admin" },
    });
    const headers = res.json().headers;
    expect(headers["x-isomesh-principal"]).toBeUndefined();
    expect(res.json().caller).toBe("gateway");
  });
});

describe("control plane apply and validation", () => {
  it("rejects invalid input with 422 naming the field, storing nothing", async () => {
    const before = (await mesh.admin("/v1/version")).json().version;
    const res = await mesh.admin("/v1/apply", {
      method: "POST",
      body: `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: broken }
spec:
  parentRefs: [{ name: gateway }]
  rules:
    - backendRefs: [{ name: web, weight: -1 }, { name: nowhere }]
`,
    });
    expect(res.status).toBe(422);
    expect(res.json().errors).toContainEqual({
      resource: "HTTPRoute/broken",
      path: "spec.rules[0].backendRefs[0].weight",
      message: "weight must be >= 0",
    });
    expect((await mesh.admin("/v1/version")).json().version).toBe(before);
    expect((await mesh.admin("/v1/resources/HTTPRoute/broken")).status).toBe(404);
  });

  it("rejects unknown kinds and bad YAML", async () => {
    const kind = await mesh.admin("/v1/apply", {
      method: "POST",
      body: "apiVersion: v1\nkind: Pod\nmetadata: { name: x }\nspec: {}\n",
    });
    expect(kind.status).toBe(422);
    expect(kind.json().errors[0].path).toBe("kind");
    const yaml = await mesh.admin("/v1/apply", { method: "POST", body: "kind: [" });
    expect(yaml.status).toBe(422);
  });

  it("lists, gets and deletes resources, each change a new version", async () => {
    const list = (await mesh.admin("/v1/resources/httproutes")).json();
    expect(list.items.map((r: { metadata: { name: string } }) => r.metadata.name)).toEqual([
      "shop",
      "web",
      "web-split",
    ]);
    const v = (await mesh.admin("/v1/version")).json().version;
    const del = await mesh.admin("/v1/resources/HTTPRoute/web-split?wait=true", { method: "DELETE" });
    expect(del.status).toBe(200);
    expect(del.json()).toMatchObject({
      version: v + 1,
      changes: [{ kind: "HTTPRoute", name: "web-split", op: "removed" }],
      republished: ["web-edge"],
    });
    expect((await mesh.admin("/v1/resources/HTTPRoute/web-split")).status).toBe(404);
  });

  it("requires a token", async () => {
    const res = await mesh.admin("/v1/version", { token: "wrong-token-that-is-long-enough" });
    expect(res.status).toBe(401);
    expect(res.json().error.code).toBe("unauthorized");
  });
});
