import { describe, expect, it, vi } from "vitest";
import { testMesh } from "../../helpers/edge.ts";

// Retries, timeouts, filters and TrafficPolicy through the gateway and a service edge, in process.

const manifest = `name: test
services:
  - { name: web, versions: [{ name: v1, echo: true }, { name: v2, echo: true }] }
  - { name: api, versions: [{ name: v1, echo: true }] }
  - { name: shadow, versions: [{ name: v1, echo: true }] }
`;
const routes = `apiVersion: gateway.networking.k8s.io/v1
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
    - matches: [{ path: { type: PathPrefix, value: /deadline } }]
      backendRefs: [{ name: api }]
      retry: { codes: [500], attempts: 5 }
      timeouts: { backendRequest: 200ms, request: 400ms }
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
`;
const policy = (spec: string) => `${routes}---
apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: web }
spec:
  targetRefs: [{ kind: Service, name: web }]
${spec}`;
type Echo = { service: string; version: string; path: string; host: string; headers: Record<string, string> };
const json = async (r: Response) => (await r.json()) as Echo;
const key = () => `k-${Math.random()}`;

describe("retries and timeouts", () => {
  const mesh = testMesh(manifest, routes);

  it("retries a 503 until the backend recovers and reports the attempts", async () => {
    const res = await mesh.request("/retry/x", { headers: { "x-echo-fail-times": "2", "x-echo-key": key() } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-isomesh-attempts")).toBe("3");
  });

  it("gives up after the configured attempts with the backend's status", async () => {
    const res = await mesh.request("/retry/x", { headers: { "x-echo-fail-times": "9", "x-echo-key": key() } });
    expect(res.status).toBe(503);
    expect(res.headers.get("x-isomesh-attempts")).toBe("4");
  });

  it("does not retry POST unless the route opts in", async () => {
    const res = await mesh.request("/retry/x", {
      method: "POST",
      body: "{}",
      headers: { "x-echo-fail-times": "1", "x-echo-key": key() },
    });
    expect(res.status).toBe(503);
    expect(res.headers.get("x-isomesh-attempts")).toBe("1");
  });

  it("answers 504 upstream_timeout when the request timeout passes, without waiting for the backend", async () => {
    const started = Date.now();
    const res = await mesh.request("/slow", { headers: { "x-echo-delay-ms": "2000" } });
    expect(res.status).toBe(504);
    expect(res.headers.get("x-isomesh-error")).toBe("upstream_timeout");
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("answers 504 upstream_timeout, not the last try's 500, when the next backoff would pass the request timeout", async () => {
    // The largest jitter: tries end at ~100, ~225 and ~375 ms, and the third backoff (~99 ms) would pass 400 ms.
    const random = vi.spyOn(Math, "random").mockReturnValue(0.99);
    try {
      const res = await mesh.request("/deadline", { headers: { "x-echo-status": "500", "x-echo-delay-ms": "100" } });
      expect(res.status).toBe(504);
      expect(res.headers.get("x-isomesh-error")).toBe("upstream_timeout");
      expect(Number(res.headers.get("x-isomesh-attempts"))).toBeGreaterThan(1);
    } finally {
      random.mockRestore();
    }
  });

  it("answers 504 whenever the request timeout is what ends the retries, whatever the jitter", async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        mesh.request("/deadline", { headers: { "x-echo-status": "500", "x-echo-delay-ms": "100" } }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(504));
  });

  it("tells the next hop how long it may take (x-isomesh-deadline-ms)", async () => {
    const deadline = Number((await json(await mesh.request("/slow"))).headers["x-isomesh-deadline-ms"]);
    expect(deadline).toBeGreaterThan(0);
    expect(deadline).toBeLessThanOrEqual(300);
  });

  it("passes the mesh's 15 s default timeout on as the deadline", async () => {
    const deadline = Number((await json(await mesh.request("/web/plain"))).headers["x-isomesh-deadline-ms"]);
    expect(deadline).toBeGreaterThan(14_000);
    expect(deadline).toBeLessThanOrEqual(15_000);
  });
});

describe("filters", () => {
  const mesh = testMesh(manifest, routes);

  it("redirects with the Gateway API rules for scheme, host, port and prefix", async () => {
    const res = await mesh.request("/old/page?q=1", { host: "shop.example:8080" });
    expect(res.status).toBe(301);
    expect(res.headers.get("location")).toBe("https://new.example/new/page?q=1");
  });

  it("rewrites host and path, modifies request and response headers", async () => {
    const res = await mesh.request("/v1api/items", { headers: { "x-drop": "1" } });
    const body = await json(res);
    expect(body.path).toBe("/api/items");
    expect(body.host).toBe("internal.example");
    expect(body.headers["x-team"]).toBe("blue");
    expect(body.headers["x-drop"]).toBeUndefined();
    expect(res.headers.get("x-served-by")).toBe("isomesh");
  });

  it("mirrors a copy to the mirror backend, marked as one, and answers from the real one", async () => {
    const res = await mesh.request("/mirrored/m");
    expect((await json(res)).service).toBe("api");
    await mesh.gateway.settle();
    const copies = mesh.gateway.sent.filter((s) => s.backend === "shadow");
    expect(copies).toHaveLength(1);
    expect(copies[0].request.headers.get("x-isomesh-mirror")).toBe("1");
  });
});

describe("TrafficPolicy", () => {
  it("injects aborts for matching requests only", async () => {
    const mesh = testMesh(
      manifest,
      policy(
        `  faultInjection:\n    match: { headers: [{ name: end-user, value: jason }] }\n    abort: { httpStatus: 418, percentage: 100 }\n`,
      ),
    );
    const hit = await mesh.request("/web/x", { headers: { "end-user": "jason" } });
    expect(hit.status).toBe(418);
    expect(((await hit.json()) as { error: object }).error).toMatchObject({ code: "fault_abort", policy: "web" });
    expect((await mesh.request("/web/x", { headers: { "end-user": "bob" } })).status).toBe(200);
  });

  it("aborts about the configured percentage", async () => {
    const mesh = testMesh(manifest, policy("  faultInjection:\n    abort: { httpStatus: 500, percentage: 50 }\n"));
    let aborted = 0;
    for (let i = 0; i < 400; i++) if ((await mesh.request("/web/x")).status === 500) aborted++;
    // Binomial(400, 0.5): outside [140, 260] has probability < 1e-9.
    expect(aborted).toBeGreaterThan(140);
    expect(aborted).toBeLessThan(260);
  });

  it("delays matching requests, within the request's deadline", async () => {
    const mesh = testMesh(manifest, policy("  faultInjection:\n    delay: { fixedDelay: 150ms, percentage: 100 }\n"));
    const started = Date.now();
    expect((await mesh.request("/web/x")).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("a delay that uses up the request's deadline is a timeout: 504, flagged timed_out as for RPC", async () => {
    const mesh = testMesh(manifest, policy("  faultInjection:\n    delay: { fixedDelay: 5s, percentage: 100 }\n"));
    const web = mesh.edge("web-edge"); // called as the gateway calls it, with 50 ms left
    const res = await web.request("/x", { headers: { "x-isomesh-deadline-ms": "50" }, caller: "gateway" });
    expect(res.status).toBe(504);
    expect(res.headers.get("x-isomesh-error")).toBe("upstream_timeout");
    const batch = web.recorder.take({ edge: "web-edge", isolate: "t", version: 1, hash: "", state: "synced" }, true)!;
    expect(batch.series.find((s) => s.code === 504)?.flags).toMatchObject({ fault_delay: 1, timed_out: 1 });
  });

  it("rate limits per key with 429 and Retry-After", async () => {
    const mesh = testMesh(manifest, policy("  rateLimits: [{ requests: 3, per: 1m, key: { header: x-user } }]\n"));
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await mesh.request("/web/x", { headers: { "x-user": "ann" } })).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const limited = await mesh.request("/web/x", { headers: { "x-user": "ann" } });
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(((await limited.json()) as { error: object }).error).toMatchObject({
      code: "rate_limited",
      policy: "web",
      rule: 0,
    });
    expect((await mesh.request("/web/x", { headers: { "x-user": "bob" } })).status).toBe(200);
  });

  it("keeps a user on one version with sticky sessions", async () => {
    const mesh = testMesh(manifest, policy("  stickySession: { hashOn: { header: x-user } }\n"));
    const versions = new Map<string, Set<string>>();
    for (let u = 0; u < 20; u++)
      for (let i = 0; i < 8; i++) {
        const user = `u${u}`;
        versions.set(
          user,
          (versions.get(user) ?? new Set()).add(
            (await json(await mesh.request("/web/x", { headers: { "x-user": user } }))).version,
          ),
        );
      }
    expect([...versions.values()].every((v) => v.size === 1)).toBe(true);
  });

  it("refuses what is over the concurrency limit of a backend with 503 overloaded", async () => {
    let release!: () => void;
    let arrived!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const reached = new Promise<void>((r) => (arrived = r));
    const backend = async () => (arrived(), await held, new Response("ok"));
    const mesh = testMesh(
      manifest,
      policy("  concurrencyLimit: 1\n  stickySession: { hashOn: { header: x-user } }\n"),
      { backend: (s) => (s === "web" ? backend : undefined) },
    );
    const first = mesh.request("/web/x", { headers: { "x-user": "ann" } }); // the limit is per backend: both go to ann's
    await reached; // the first request holds the one slot
    const second = await mesh.request("/web/x", { headers: { "x-user": "ann" } });
    expect(second.status).toBe(503);
    expect(second.headers.get("x-isomesh-error")).toBe("overloaded");
    release();
    expect((await first).status).toBe(200);
  });
});
