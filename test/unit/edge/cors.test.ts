import { describe, expect, it } from "vitest";
import { validateDocuments } from "../../../shared/resources/parse.ts";
import { allowsOrigin, compileCors } from "../../../shared/routing/cors.ts";
import { CorsPolicy } from "../../../shared/resources/cors-filter.ts";
import { RouteTable } from "../../../shared/routing/match.ts";
import { SKIP } from "../../../workers/dataplane/exchange.ts";
import { cors } from "../../../workers/dataplane/stages/cors.ts";
import { compileFor, testMesh } from "../../helpers/edge.ts";

// The CORS HTTPRoute filter (Gateway API GEP-1767): validation at apply, origin matching, and the
// cors stage through a gateway and a service edge in process.

const route = (cors: unknown, extra: Record<string, unknown> = {}) => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "HTTPRoute",
  metadata: { name: "r" },
  spec: {
    parentRefs: [{ name: "gateway" }],
    rules: [{ filters: [{ type: "CORS", cors }], backendRefs: [{ name: "api" }], ...extra }],
  },
});
const errorsOf = (d: unknown) => validateDocuments([d]).errors.map((e) => `${e.path}: ${e.message}`);

describe("CORS filter validation", () => {
  it("accepts the Gateway API shape and defaults maxAge to 5", () => {
    expect(
      errorsOf(route({ allowOrigins: ["https://www.foo.com", "https://*.bar.com"], allowMethods: ["GET"] })),
    ).toEqual([]);
    expect(CorsPolicy.parse({}).maxAge).toBe(5);
  });

  it("refuses allowCredentials with a wildcard origin, naming the field", () => {
    const errors = errorsOf(route({ allowOrigins: ["*"], allowCredentials: true }));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^spec\.rules\[0\]\.filters\[0\]\.cors\.allowCredentials: allowCredentials: true cannot be combined/,
    );
    expect(errorsOf(route({ allowOrigins: ["https://*.example.com"], allowCredentials: true }))).toEqual([]);
  });

  it.each([
    [{ allowOrigins: ["example.com"] }, "allowOrigins[0]"],
    [{ allowOrigins: ["ftp://example.com"] }, "allowOrigins[0]"],
    [{ allowOrigins: ["https://example.com/path"] }, "allowOrigins[0]"],
    [{ allowOrigins: ["https://example.com:70000"] }, "allowOrigins[0]"],
    [{ allowOrigins: ["https://a.*.com"] }, "allowOrigins[0]"],
    [{ allowOrigins: ["*", "https://a.com"] }, "allowOrigins"],
    [{ allowOrigins: ["https://a.com", "https://A.com"] }, "allowOrigins[1]"],
    [{ allowMethods: ["get"] }, "allowMethods[0]"],
    [{ allowMethods: ["*", "GET"] }, "allowMethods"],
    [{ allowHeaders: ["x bad"] }, "allowHeaders[0]"],
    [{ exposeHeaders: ["X-A", "x-a"] }, "exposeHeaders[1]"],
    [{ maxAge: 0 }, "maxAge"],
    [{ maxAge: 1.5 }, "maxAge"],
    [{ allowOrigin: ["*"] }, "allowOrigin"],
  ])("refuses %j at %s", (cors, field) => {
    const errors = errorsOf(route(cors));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toContain(`spec.rules[0].filters[0].cors${field ? `.${field}` : ""}: `);
  });

  it("refuses a second CORS filter on a rule and CORS on a backendRef", () => {
    const twice = route({});
    twice.spec.rules[0].filters.push({ type: "CORS", cors: {} });
    expect(errorsOf(twice).join()).toMatch(/filter CORS may appear at most once per rule/);
    const onBackend = route({});
    onBackend.spec.rules[0] = {
      filters: [],
      backendRefs: [{ name: "api", filters: [{ type: "CORS", cors: {} }] }],
    } as never;
    expect(errorsOf(onBackend).join()).toMatch(/a CORS filter applies to a rule, not a backendRef/);
  });
});

describe("origin matching", () => {
  const c = compileCors(
    CorsPolicy.parse({ allowOrigins: ["https://www.foo.com", "https://*.bar.com", "http://localhost:8080"] }),
  );
  it.each([
    ["https://www.foo.com", true],
    ["https://www.foo.com:443", true],
    ["https://WWW.FOO.COM", true],
    ["http://www.foo.com", false],
    ["https://www.foo.com:8443", false],
    ["https://foo.com", false],
    ["https://www.bar.com", true],
    ["https://xpto.www.bar.com", true],
    ["https://bar.com", false],
    ["https://evilbar.com", false],
    ["https://bar.com.evil.com", false],
    ["http://www.bar.com", false],
    ["http://localhost:8080", true],
    ["http://localhost", false],
    ["null", false],
    ["https://www.foo.com/", false],
  ])("%s allowed: %s", (origin, allowed) => expect(allowsOrigin(c, origin)).toBe(allowed));

  it("a bare * host allows any host of that scheme and port", () => {
    const any = compileCors(CorsPolicy.parse({ allowOrigins: ["https://*"] }));
    expect(allowsOrigin(any, "https://x.y.z")).toBe(true);
    expect(allowsOrigin(any, "http://x.y.z")).toBe(false);
  });
});

const manifest = `name: test
services:
  - { name: api, versions: [{ name: v1, echo: true }] }
  - { name: web, versions: [{ name: v1, echo: true }] }
`;
const routes = `apiVersion: gateway.networking.k8s.io/v1
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
      backendRefs: [{ name: api }]
    - matches: [{ path: { type: PathPrefix, value: /cors-2 } }]
      filters: [{ type: CORS, cors: { allowOrigins: [https://www.foo.com], allowMethods: ["*"], allowHeaders: ["*"] } }]
      backendRefs: [{ name: api }]
    - matches: [{ path: { type: PathPrefix, value: /cors-wildcard-origin } }]
      filters: [{ type: CORS, cors: { allowOrigins: ["*"], allowMethods: [PUT] } }]
      backendRefs: [{ name: api }]
    - matches: [{ path: { type: PathPrefix, value: /plain } }]
      backendRefs: [{ name: api }]
`;
const preflight = (origin: string, method = "GET", headers: Record<string, string> = {}) => ({
  method: "OPTIONS",
  headers: { origin, "access-control-request-method": method, ...headers },
});

describe("cors stage", () => {
  it("answers an allowed preflight at the edge with the rule's lists; the app is not called", async () => {
    const mesh = testMesh(manifest, routes);
    const r = await mesh.request(
      "/cors-1",
      preflight("https://xpto.www.bar.com", "GET", { "access-control-request-headers": "x-header-1, x-header-2" }),
    );
    expect(r.status).toBe(200);
    expect(Object.fromEntries([...r.headers].filter(([k]) => k.startsWith("access-control-") || k === "vary"))).toEqual(
      {
        "access-control-allow-origin": "https://xpto.www.bar.com",
        "access-control-allow-methods": "GET, OPTIONS",
        "access-control-allow-headers": "x-header-1, x-header-2",
        "access-control-expose-headers": "x-header-3, x-header-4",
        "access-control-max-age": "3600",
        "access-control-allow-credentials": "true",
        vary: "Origin",
      },
    );
    expect(r.headers.get("x-request-id")).toBeTruthy();
    expect(mesh.gateway.sent).toHaveLength(0);
  });

  it("answers a disallowed origin's preflight without any CORS header, and does not call the app", async () => {
    const mesh = testMesh(manifest, routes);
    const r = await mesh.request("/cors-1", preflight("https://foobar.com"));
    expect([200, 204, 403]).toContain(r.status);
    expect([...r.headers.keys()].filter((k) => k.startsWith("access-control-"))).toEqual([]);
    expect(mesh.gateway.sent).toHaveLength(0);
  });

  it("an actual request from an allowed origin gets Allow-Origin, Vary, Expose and Credentials; a disallowed one none, even the app's", async () => {
    const mesh = testMesh(manifest, routes);
    const ok = await mesh.request("/cors-1", { headers: { origin: "https://www.foo.com" } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://www.foo.com");
    expect(ok.headers.get("vary")).toMatch(/Origin/);
    expect(ok.headers.get("access-control-expose-headers")).toBe("x-header-3, x-header-4");
    expect(ok.headers.get("access-control-allow-credentials")).toBe("true");
    expect(mesh.gateway.sent).toHaveLength(1);
    const no = await mesh.request("/cors-1", { headers: { origin: "https://foobar.com" } });
    expect(no.status).toBe(200);
    expect([...no.headers.keys()].filter((k) => k.startsWith("access-control-"))).toEqual([]);
  });

  it("an app's own CORS headers do not survive a disallowed origin: the route's policy decides", async () => {
    const permissive = () => () =>
      new Response("ok", {
        headers: { "access-control-allow-origin": "*", "access-control-allow-credentials": "true", "x-app": "1" },
      });
    const mesh = testMesh(manifest, routes, { backend: permissive });
    const no = await mesh.request("/cors-1", { headers: { origin: "https://foobar.com" } });
    expect(no.headers.get("x-app")).toBe("1");
    expect([...no.headers.keys()].filter((k) => k.startsWith("access-control-"))).toEqual([]);
    const ok = await mesh.request("/cors-1", { headers: { origin: "https://www.foo.com" } });
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://www.foo.com");
  });

  it("allowMethods and allowHeaders * answer with what the preflight asked for; no credentials header unless set", async () => {
    const mesh = testMesh(manifest, routes);
    const r = await mesh.request(
      "/cors-2",
      preflight("https://www.foo.com", "POST", { "access-control-request-headers": "x-a, x-b" }),
    );
    expect(r.status).toBe(200);
    expect(r.headers.get("access-control-allow-methods")).toBe("POST");
    expect(r.headers.get("access-control-allow-headers")).toBe("x-a, x-b");
    expect(r.headers.has("access-control-allow-credentials")).toBe(false);
  });

  it("a * origin without credentials answers *", async () => {
    const mesh = testMesh(manifest, routes);
    const r = await mesh.request("/cors-wildcard-origin", preflight("https://foobar.com:12345", "PUT"));
    expect(r.headers.get("access-control-allow-origin")).toBe("*");
    expect(r.headers.get("access-control-allow-methods")).toBe("PUT");
    const put = await mesh.request("/cors-wildcard-origin", {
      method: "PUT",
      headers: { origin: "https://foobar.com" },
    });
    expect(put.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("a route without CORS, and a request without Origin, get no CORS headers; a plain OPTIONS reaches the app", async () => {
    const mesh = testMesh(manifest, routes);
    const plain = await mesh.request("/plain", preflight("https://www.foo.com"));
    expect(plain.headers.has("access-control-allow-origin")).toBe(false);
    expect(mesh.gateway.sent).toHaveLength(1);
    const noOrigin = await mesh.request("/cors-1", { method: "OPTIONS" });
    expect(noOrigin.headers.has("access-control-allow-origin")).toBe(false);
    expect(mesh.gateway.sent).toHaveLength(2);
  });

  it("answers the preflight before authorization would refuse it, and puts CORS headers on the refusal", async () => {
    const policy = `${routes}---
apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: deny-all }
spec:
  targetRefs: [{ kind: Gateway, name: gateway }]
  action: DENY
  rules: [{ to: [{ operation: { paths: ["/cors-1"] } }] }]
`;
    const mesh = testMesh(manifest, policy);
    const pre = await mesh.request("/cors-1", preflight("https://www.foo.com"));
    expect(pre.status).toBe(200);
    const denied = await mesh.request("/cors-1", { headers: { origin: "https://www.foo.com" } });
    expect(denied.status).toBe(403);
    expect(denied.headers.get("access-control-allow-origin")).toBe("https://www.foo.com");
  });

  it("explain shows the CORS decision", async () => {
    const mesh = testMesh(manifest, routes);
    await mesh.request("/cors-1", { ...preflight("https://www.foo.com"), explain: true });
    expect(mesh.gateway.decisions.find((d) => d.stage === "cors")).toMatchObject({
      decision: "origin https://www.foo.com allowed; preflight answered here",
      route: "cors",
      rule: 0,
      allowed: true,
    });
  });

  it("a snapshot without any CORS filter leaves the stage out of the pipeline", () => {
    const without = compileFor(manifest, "gateway", routes.replace(/ {6}filters:[^]*?(?= {6}backendRefs)/g, ""));
    expect(cors(without, new RouteTable(without.vhosts, without))).toBe(SKIP);
    const withCors = compileFor(manifest, "gateway", routes);
    expect(cors(withCors, new RouteTable(withCors.vhosts, withCors))).not.toBe(SKIP);
  });
});
