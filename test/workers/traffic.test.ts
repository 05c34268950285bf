import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { echoManifest, startTestMesh, type TestMesh } from "../helpers/mesh.ts";
import { eventually } from "../helpers/eventually.ts";

let mesh: TestMesh;
beforeAll(async () => {
  mesh = await startTestMesh(echoManifest({ web: ["v1", "v2"], api: ["v1"], shadow: ["v1"] }));
  await mesh.apply(`
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: edge }
spec:
  parentRefs: [{ name: gateway }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /retry } }]
      backendRefs: [{ name: api }]
      retry: { codes: [503], attempts: 3, backoff: 1ms }
    - matches: [{ path: { type: PathPrefix, value: /slow } }]
      backendRefs: [{ name: api }]
      timeouts: { request: 300ms }
    - matches: [{ path: { type: PathPrefix, value: /old } }]
      filters:
        - type: RequestRedirect
          requestRedirect: { scheme: https, hostname: new.example, path: { type: ReplacePrefixMatch, replacePrefixMatch: /new }, statusCode: 301 }
    - matches: [{ path: { type: PathPrefix, value: /v1api } }]
      filters:
        - type: URLRewrite
          urlRewrite: { hostname: internal.example, path: { type: ReplacePrefixMatch, replacePrefixMatch: /api } }
        - type: RequestHeaderModifier
          requestHeaderModifier: { set: [{ name: x-team, value: blue }], remove: [x-drop] }
        - type: ResponseHeaderModifier
          responseHeaderModifier: { add: [{ name: x-served-by, value: isomesh }] }
      backendRefs: [{ name: api }]
    - matches: [{ path: { type: PathPrefix, value: /mirrored } }]
      filters:
        - type: RequestMirror
          requestMirror: { backendRef: { name: shadow } }
      backendRefs: [{ name: api }]
    - matches: [{ path: { type: PathPrefix, value: /web } }]
      backendRefs: [{ name: web }]
`);
});
afterAll(() => mesh?.stop());

const accessLines = (edge: string, requestId: string) =>
  mesh.logs.filter((l) => l.includes(`"requestId":"${requestId}"`) && l.includes(`"edge":"${edge}"`));

describe("retries and timeouts", () => {
  it("retries a 503 until the backend recovers and reports the attempts", async () => {
    const res = await mesh.get("/retry/x", { headers: { "x-echo-fail-times": "2", "x-echo-key": "retry-1" } });
    expect(res.status).toBe(200);
    expect(res.headers["x-isomesh-attempts"]).toBe("3");
  });

  it("gives up after the configured attempts with the backend's status", async () => {
    const res = await mesh.get("/retry/x", { headers: { "x-echo-fail-times": "9", "x-echo-key": "retry-2" } });
    expect(res.status).toBe(503);
    expect(res.headers["x-isomesh-attempts"]).toBe("4");
  });

  it("does not retry POST unless the route opts in", async () => {
    const res = await mesh.get("/retry/x", {
      method: "POST",
      body: "{}",
      headers: { "x-echo-fail-times": "1", "x-echo-key": "retry-3" },
    });
    expect(res.status).toBe(503);
    expect(res.headers["x-isomesh-attempts"]).toBe("1");
  });

  it("keeps the client's keep-alive connection usable when the app never reads the body", async () => {
    const { Agent } = await import("node:http");
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const { request } = await import("node:http");
    const send = (method: string, body?: string) =>
      new Promise<{ status: number; socket: unknown }>((resolve, reject) => {
        const req = request(
          `${mesh.gatewayUrl}/retry/y`,
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

  it("answers 504 upstream_timeout when the request timeout passes", async () => {
    const started = Date.now();
    const res = await mesh.get("/slow", { headers: { "x-echo-delay-ms": "2000" } });
    expect(res.status).toBe(504);
    expect(res.headers["x-isomesh-error"]).toBe("upstream_timeout");
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("tells the next hop how long it may take (x-isomesh-deadline-ms)", async () => {
    const res = await mesh.get("/slow");
    const deadline = Number(res.json().headers["x-isomesh-deadline-ms"]);
    expect(deadline).toBeGreaterThan(0);
    expect(deadline).toBeLessThanOrEqual(300);
  });
});

describe("filters", () => {
  it("redirects with the Gateway API rules for scheme, host, port and prefix", async () => {
    const res = await mesh.get("/old/page?q=1", { host: "shop.example:8080" });
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe("https://new.example/new/page?q=1");
  });

  it("rewrites host and path, modifies request and response headers", async () => {
    const res = await mesh.get("/v1api/items", { headers: { "x-drop": "1" } });
    const body = res.json();
    expect(body.path).toBe("/api/items");
    expect(body.host).toBe("internal.example");
    expect(body.headers["x-team"]).toBe("blue");
    expect(body.headers["x-drop"]).toBeUndefined();
    expect(res.headers["x-served-by"]).toBe("isomesh");
  });

  it("mirrors a copy to the mirror backend and answers from the real one", async () => {
    const res = await mesh.get("/mirrored/m", { headers: { "x-request-id": "mirror-1" } });
    expect(res.json().service).toBe("api");
    for (let i = 0; i < 40 && accessLines("shadow-edge", "mirror-1").length === 0; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(accessLines("shadow-edge", "mirror-1")).toHaveLength(1);
    // The target's edge records the copy as one: apart from real traffic, in metrics and stats.
    expect(accessLines("shadow-edge", "mirror-1")[0]).toContain('"mirror":true');
    const stats = await eventually(
      async () => (await mesh.admin("/v1/stats?service=shadow&window=5m")).json().services[0],
      (s) => s.mirrored.length > 0,
    );
    expect(stats).toMatchObject({ requests: 0, mirrored: [expect.objectContaining({ version: "v1", requests: 1 })] });
  });
});

describe("TrafficPolicy", () => {
  it("injects aborts and delays for matching requests only", async () => {
    await mesh.apply(`
apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: web }
spec:
  targetRefs: [{ kind: Service, name: web }]
  faultInjection:
    match: { headers: [{ name: end-user, value: jason }] }
    abort: { httpStatus: 418, percentage: 100 }
`);
    const hit = await mesh.get("/web/x", { headers: { "end-user": "jason" } });
    expect(hit.status).toBe(418);
    expect(hit.json().error).toMatchObject({ code: "fault_abort", policy: "web" });
    expect((await mesh.get("/web/x", { headers: { "end-user": "bob" } })).status).toBe(200);
  });

  it("aborts about the configured percentage", async () => {
    await mesh.apply(`
apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: web }
spec:
  targetRefs: [{ kind: Service, name: web }]
  faultInjection:
    abort: { httpStatus: 500, percentage: 50 }
`);
    let aborted = 0;
    for (let i = 0; i < 100; i++) if ((await mesh.get("/web/x")).status === 500) aborted++;
    // Binomial(100, 0.5): outside [20, 80] has probability < 1e-9.
    expect(aborted).toBeGreaterThan(20);
    expect(aborted).toBeLessThan(80);
  });

  it("rate limits per key with 429 and Retry-After", async () => {
    await mesh.apply(`
apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: web }
spec:
  targetRefs: [{ kind: Service, name: web }]
  rateLimits: [{ requests: 3, per: 1m, key: { header: x-user } }]
`);
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await mesh.get("/web/x", { headers: { "x-user": "ann" } })).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const limited = await mesh.get("/web/x", { headers: { "x-user": "ann" } });
    expect(limited.headers["retry-after"]).toMatch(/^\d+$/);
    expect(limited.json().error).toMatchObject({ code: "rate_limited", policy: "web", rule: 0 });
    expect((await mesh.get("/web/x", { headers: { "x-user": "bob" } })).status).toBe(200);
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

  it("keeps a user on one version with sticky sessions", async () => {
    await mesh.apply(`
apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: web }
spec:
  targetRefs: [{ kind: Service, name: web }]
  stickySession: { hashOn: { header: x-user } }
`);
    for (const user of ["u1", "u2", "u3", "u4"]) {
      const versions = new Set<string>();
      for (let i = 0; i < 8; i++)
        versions.add((await mesh.get("/web/x", { headers: { "x-user": user } })).json().version);
      expect(versions.size).toBe(1);
    }
  });
});
