import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { echoManifest, startTestMesh, type TestMesh } from "../helpers/mesh.ts";

// The CORS filter (GEP-1767) and session persistence (GEP-1619) through a real mesh in workerd, each
// case named for the upstream Gateway API conformance test it follows: HTTPRouteCORS
// (kubernetes-sigs/gateway-api conformance/tests/httproute-cors.go) and the HTTPRouteSessionPersistence
// cases GEP-1619 lists under "Conformance Details". Upstream's infra-backend-v1 is the echo service
// `infra`; the canary's two pods are versions v1 and v2 of `echo`, behind a GAMMA route.

let mesh: TestMesh;
beforeAll(async () => {
  mesh = await startTestMesh(echoManifest({ infra: ["v1"], echo: ["v1", "v2"] }));
  await mesh.apply(config);
});
afterAll(() => mesh?.stop());

const config = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: cors }
spec:
  parentRefs: [{ name: gateway }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /cors-1 } }]
      filters:
        - type: CORS
          cors:
            allowOrigins: [https://www.foo.com, "https://*.bar.com"]
            allowMethods: [GET, OPTIONS]
            allowHeaders: [x-header-1, x-header-2]
            exposeHeaders: [x-header-3, x-header-4]
            allowCredentials: true
            maxAge: 3600
      backendRefs: [{ name: infra }]
    - matches: [{ path: { type: PathPrefix, value: /cors-2 } }]
      filters: [{ type: CORS, cors: { allowOrigins: [https://www.foo.com], allowMethods: ["*"] } }]
      backendRefs: [{ name: infra }]
    - matches: [{ path: { type: PathPrefix, value: /cors-wildcard-origin } }]
      filters: [{ type: CORS, cors: { allowOrigins: ["*"], allowMethods: [PUT], allowCredentials: false } }]
      backendRefs: [{ name: infra }]
    - matches: [{ path: { type: PathPrefix, value: /canary } }]
      backendRefs: [{ name: echo }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: echo-canary }
spec:
  parentRefs: [{ kind: Service, name: echo }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /canary/a } }]
      backendRefs: [{ name: echo, version: v1, weight: 70 }, { name: echo, version: v2, weight: 30 }]
      sessionPersistence: {}
    - matches: [{ path: { type: PathPrefix, value: /canary/b } }]
      backendRefs: [{ name: echo, version: v1, weight: 70 }, { name: echo, version: v2, weight: 30 }]
      sessionPersistence: {}
    - matches: [{ path: { type: PathPrefix, value: /canary/permanent } }]
      backendRefs: [{ name: echo, version: v1 }, { name: echo, version: v2 }]
      sessionPersistence: { sessionName: shop-canary, absoluteTimeout: 5m, cookieConfig: { lifetimeType: Permanent } }
    - matches: [{ path: { type: PathPrefix, value: /canary/header } }]
      backendRefs: [{ name: echo, version: v1 }, { name: echo, version: v2 }]
      sessionPersistence: { sessionName: x-session, type: Header }
    - matches: [{ path: { type: PathPrefix, value: /canary/cors } }]
      filters: [{ type: CORS, cors: { allowOrigins: ["https://*.shop.example"] } }]
      backendRefs: [{ name: echo, version: v1 }]
`;

type Echo = { service: string; version: string };
const cors = (headers: Record<string, string>) =>
  Object.fromEntries(Object.entries(headers).filter(([k]) => k.startsWith("access-control-")));
const preflight = (origin: string, method: string, extra: Record<string, string> = {}) => ({
  method: "OPTIONS",
  headers: { origin, "access-control-request-method": method, ...extra },
});
const sameList = (value: string | undefined) =>
  value
    ?.split(",")
    .map((s) => s.trim())
    .sort();

describe("Gateway API conformance: HTTPRouteCORS", () => {
  it("CORS preflight request from an exact matching origin should be allowed (answered at the edge)", async () => {
    const res = await mesh.get(
      "/cors-1",
      preflight("https://www.foo.com", "GET", { "access-control-request-headers": "x-header-1, x-header-2" }),
    );
    expect(res.status).toBe(200);
    expect(res.headers["access-control-allow-origin"]).toBe("https://www.foo.com");
    expect(sameList(res.headers["access-control-allow-methods"])).toEqual(["GET", "OPTIONS"]);
    expect(sameList(res.headers["access-control-allow-headers"])).toEqual(["x-header-1", "x-header-2"]);
    expect(sameList(res.headers["access-control-expose-headers"])).toEqual(["x-header-3", "x-header-4"]);
    expect(res.headers["access-control-max-age"]).toBe("3600");
    expect(res.headers["access-control-allow-credentials"]).toBe("true");
    // No backend answered it: the echo would have written a body and the edge named the backend.
    expect(res.body).toBe("");
    expect(res.headers["x-isomesh-backend"]).toBeUndefined();
  });

  it("CORS preflight request from a wildcard matching origin (any number of labels left of *) should be allowed", async () => {
    for (const origin of ["https://www.bar.com", "https://xpto.www.bar.com"]) {
      const res = await mesh.get("/cors-1", preflight(origin, "GET"));
      expect(res.status).toBe(200);
      expect(res.headers["access-control-allow-origin"]).toBe(origin);
    }
  });

  it("CORS preflight request from a non-matching origin should not be allowed", async () => {
    const res = await mesh.get("/cors-1", preflight("https://foobar.com", "GET"));
    expect([200, 204, 403]).toContain(res.status);
    expect(cors(res.headers)).toEqual({});
    expect(res.headers["x-isomesh-backend"]).toBeUndefined();
  });

  it("Simple request from an exact / wildcard matching origin should be allowed; from a non-matching one not", async () => {
    for (const origin of ["https://www.foo.com", "https://www.bar.com"]) {
      const res = await mesh.get("/cors-1", { headers: { origin } });
      expect(res.status).toBe(200);
      expect(res.json<Echo>().service).toBe("infra");
      expect(res.headers["access-control-allow-origin"]).toBe(origin);
      expect(res.headers.vary).toMatch(/Origin/);
    }
    const res = await mesh.get("/cors-1", { headers: { origin: "https://foobar.com" } });
    expect(res.status).toBe(200);
    expect(cors(res.headers)).toEqual({});
  });

  it("CORS preflight request with POST method should be allowed by allowMethods with wildcard, without allow-credentials", async () => {
    const res = await mesh.get("/cors-2", preflight("https://www.foo.com", "POST"));
    expect(res.status).toBe(200);
    expect(["POST", "*"]).toContain(res.headers["access-control-allow-methods"]);
    expect(res.headers["access-control-allow-origin"]).toBe("https://www.foo.com");
    expect(res.headers["access-control-allow-credentials"]).toBeUndefined();
  });

  it("Pre-flight and simple request from a wildcard origin (with a port) should return * or the requested Origin", async () => {
    const pre = await mesh.get("/cors-wildcard-origin", preflight("https://foobar.com:12345", "PUT"));
    expect(["*", "https://foobar.com:12345"]).toContain(pre.headers["access-control-allow-origin"]);
    expect(pre.headers["access-control-allow-methods"]).toBe("PUT");
    expect(pre.headers["access-control-allow-credentials"]).toBeUndefined();
    const put = await mesh.get("/cors-wildcard-origin", { method: "PUT", headers: { origin: "https://foobar.com" } });
    expect(put.status).toBe(200);
    expect(["*", "https://foobar.com"]).toContain(put.headers["access-control-allow-origin"]);
  });

  it("a GAMMA route's CORS filter is answered by the service edge", async () => {
    const pre = await mesh.get("/canary/cors", preflight("https://app.shop.example", "GET"));
    expect(pre.status).toBe(200);
    expect(pre.headers["access-control-allow-origin"]).toBe("https://app.shop.example");
    const get = await mesh.get("/canary/cors", { headers: { origin: "https://evil.example" } });
    expect(get.json<Echo>().version).toBe("v1");
    expect(cors(get.headers)).toEqual({});
  });

  it("refuses allowCredentials with a * origin at apply: 422 naming the field, nothing stored", async () => {
    const res = await mesh.admin("/v1/apply", {
      method: "POST",
      body: `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: cors-credentials-any-origin }
spec:
  parentRefs: [{ name: gateway }]
  rules:
    - filters: [{ type: CORS, cors: { allowOrigins: ["*"], allowCredentials: true } }]
      backendRefs: [{ name: infra }]
`,
    });
    expect(res.status).toBe(422);
    expect(res.json().errors[0]).toMatchObject({
      resource: "HTTPRoute/cors-credentials-any-origin",
      path: "spec.rules[0].filters[0].cors.allowCredentials",
    });
    expect((await mesh.admin("/v1/resources/HTTPRoute/cors-credentials-any-origin")).status).toBe(404);
  });
});

const cookieOf = (headers: Record<string, string>) => headers["set-cookie"]?.split(";")[0];

describe("Gateway API conformance: HTTPRouteSessionPersistence (GEP-1619)", () => {
  it("Simple Cookie Session Persistence: the first response sets a cookie, the next 50 requests with it reach the same version", async () => {
    const first = await mesh.get("/canary/a");
    const cookie = cookieOf(first.headers);
    expect(cookie).toMatch(/^isomesh-session-[0-9a-z]+=echo\/v[12]\./);
    const version = first.json<Echo>().version;
    for (let i = 0; i < 50; i++) {
      const res = await mesh.get("/canary/a", { headers: { cookie: cookie! } });
      expect(res.json<Echo>().version).toBe(version);
    }
  });

  it("Session Cookie Lifetime (Default): the cookie has no Expires or Max-Age", async () => {
    const res = await mesh.get("/canary/a");
    expect(res.headers["set-cookie"]).toBeDefined();
    expect(res.headers["set-cookie"]).not.toMatch(/expires|max-age/i);
  });

  it("Multiple Weighted Backends - Initial Distribution Honored: new sessions follow 70/30, then stick", async () => {
    const seen: Record<string, number> = { v1: 0, v2: 0 };
    const cookies: Record<string, string> = {};
    for (let i = 0; i < 200; i++) {
      const res = await mesh.get("/canary/a");
      const v = res.json<Echo>().version;
      seen[v]++;
      cookies[v] ??= cookieOf(res.headers)!;
    }
    expect(seen.v1 / 200).toBeGreaterThan(0.55);
    expect(seen.v1 / 200).toBeLessThan(0.85);
    for (const v of ["v1", "v2"])
      for (let i = 0; i < 10; i++)
        expect((await mesh.get("/canary/a", { headers: { cookie: cookies[v] } })).json<Echo>().version).toBe(v);
  });

  it("Session Persistence Scoped to Route Rule: /a and /b keep sessions of their own", async () => {
    const a = await mesh.get("/canary/a");
    const b = await mesh.get("/canary/b");
    const [nameA, nameB] = [cookieOf(a.headers)!.split("=")[0], cookieOf(b.headers)!.split("=")[0]];
    expect(nameA).not.toBe(nameB);
    const both = `${cookieOf(a.headers)}; ${cookieOf(b.headers)}`;
    for (let i = 0; i < 10; i++) {
      expect((await mesh.get("/canary/a", { headers: { cookie: both } })).json<Echo>().version).toBe(
        a.json<Echo>().version,
      );
      expect((await mesh.get("/canary/b", { headers: { cookie: both } })).json<Echo>().version).toBe(
        b.json<Echo>().version,
      );
    }
  });

  it("HTTPRouteSessionPersistenceCookieLifetimeTypePermanent: Max-Age is the absoluteTimeout", async () => {
    const res = await mesh.get("/canary/permanent");
    expect(res.headers["set-cookie"]).toMatch(
      /^shop-canary=echo\/v[12]\.[0-9a-z.]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=300$/,
    );
    const cookie = cookieOf(res.headers)!;
    for (let i = 0; i < 10; i++)
      expect((await mesh.get("/canary/permanent", { headers: { cookie } })).json<Echo>().version).toBe(
        res.json<Echo>().version,
      );
  });

  it("Header-based session persistence: the token comes back in the header and keeps the version", async () => {
    const first = await mesh.get("/canary/header");
    const token = first.headers["x-session"];
    expect(token).toMatch(/^echo\/v[12]\./);
    for (let i = 0; i < 10; i++)
      expect((await mesh.get("/canary/header", { headers: { "x-session": token } })).json<Echo>().version).toBe(
        first.json<Echo>().version,
      );
  });

  it("a forged token naming another service is ignored and replaced", async () => {
    const res = await mesh.get("/canary/permanent", { headers: { cookie: "shop-canary=infra/v1.0.0" } });
    expect(res.status).toBe(200);
    expect(res.json<Echo>().service).toBe("echo");
    expect(cookieOf(res.headers)).toMatch(/^shop-canary=echo\/v[12]\./);
  });
});
