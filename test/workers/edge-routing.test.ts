import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../helpers/eventually.ts";
import { echoManifest, startTestMesh, type TestMesh } from "../helpers/mesh.ts";

// The edges in workerd: what only the runtime can show (a hop through real service bindings, timers,
// keep-alive sockets, the RateLimiter Durable Object, a mirror recorded at its target) and the
// admin API's apply path. What each stage decides is tested in process: test/unit/edge/*.test.ts.

let mesh: TestMesh;
beforeAll(async () => {
  mesh = await startTestMesh(echoManifest({ web: ["v1", "v2"], api: ["v1"], shadow: ["v1"] }));
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
    - matches: [{ path: { type: PathPrefix, value: /slow } }]
      backendRefs: [{ name: api }]
      timeouts: { request: 300ms }
    - matches: [{ path: { type: PathPrefix, value: /mirrored } }]
      filters:
        - type: RequestMirror
          requestMirror: { backendRef: { name: shadow } }
      backendRefs: [{ name: api }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: shop }
spec:
  parentRefs: [{ name: gateway }]
  hostnames: [shop.example]
  rules: [{ backendRefs: [{ name: web }] }]
`;
const accessLines = (edge: string, requestId: string) =>
  mesh.logs.filter((l) => l.includes(`"requestId":"${requestId}"`) && l.includes(`"edge":"${edge}"`));

describe("edges in workerd", () => {
  it("answers 404 no_route as JSON before any route exists", async () => {
    const res = await mesh.get("/web");
    expect(res.status).toBe(404);
    expect(res.headers["x-isomesh-error"]).toBe("no_route");
  });

  it("routes through the gateway and the service edge over their bindings, with trace context", async () => {
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
    expect((await mesh.get("/x", { host: "shop.example" })).json().service).toBe("web"); // Host routing, as curl -H Host: does it
  });

  it("strips x-isomesh-* headers that arrive from outside", async () => {
    const res = await mesh.get("/api/x", {
      headers: { "x-isomesh-caller": "productpage", "x-isomesh-principal": "evil/admin" },
    });
    expect(res.json().headers["x-isomesh-principal"]).toBeUndefined();
    expect(res.json().caller).toBe("gateway");
  });

  it("answers 504 upstream_timeout when the request timeout passes", async () => {
    const started = Date.now();
    const res = await mesh.get("/slow", { headers: { "x-echo-delay-ms": "2000" } });
    expect(res.status).toBe(504);
    expect(res.headers["x-isomesh-error"]).toBe("upstream_timeout");
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("keeps the client's keep-alive connection usable when the app never reads the body", async () => {
    const { Agent, request } = await import("node:http");
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = (method: string, body?: string) =>
      new Promise<{ status: number; socket: unknown }>((resolve, reject) => {
        const req = request(
          `${mesh.gatewayUrl}/api/y`,
          { method, agent, headers: { "x-echo-status": "500" } },
          (res) => {
            res.resume();
            res.on("end", () => resolve({ status: res.statusCode ?? 0, socket: req.socket }));
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    const first = await send("POST", "x".repeat(2048));
    const second = await send("GET");
    expect([first.status, second.status]).toEqual([500, 500]);
    expect(second.socket).toBe(first.socket);
    agent.destroy();
  });

  it("records a mirrored copy at its target's edge, apart from real traffic", async () => {
    const res = await mesh.get("/mirrored/m", { headers: { "x-request-id": "mirror-1" } });
    expect(res.json().service).toBe("api");
    const lines = await eventually(
      async () => accessLines("shadow-edge", "mirror-1"),
      (l) => l.length > 0,
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('"mirror":true');
    const stats = await eventually(
      async () => (await mesh.admin("/v1/stats?service=shadow&window=5m")).json().services[0],
      (s) => s.mirrored.length > 0,
    );
    expect(stats).toMatchObject({ requests: 0, mirrored: [expect.objectContaining({ version: "v1", requests: 1 })] });
  });

  it("rate limits globally through the RateLimiter Durable Object", async () => {
    await mesh.apply(`
apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: web }
spec:
  targetRefs: [{ kind: Service, name: web }]
  rateLimits: [{ requests: 2, per: 1m, key: { header: x-user }, mode: global }]
`);
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await mesh.get("/web/x", { headers: { "x-user": "global-ann" } })).status);
    expect(statuses).toEqual([200, 200, 429]);
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

  it("lists, gets and deletes resources, each change a new version that edges run", async () => {
    await mesh.apply(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web-split }
spec:
  parentRefs: [{ kind: Service, name: web }]
  rules: [{ backendRefs: [{ name: web, version: v2 }] }]
`);
    expect((await mesh.get("/web/x")).headers["x-isomesh-backend"]).toBe("web/v2");
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
