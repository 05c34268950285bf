import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../helpers/eventually.ts";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";
import { INLINE } from "../helpers/data-plane.ts";

// External authorization through a real mesh in workerd: a provider Worker answers the checks of
// CUSTOM AuthorizationPolicies at the gateway and at a service (its edge, or its own isolate when the
// suite runs inline), reached through the bindings gen writes, with props { caller } as any mesh call.
// The decisions themselves are tested in process (test/unit/edge/ext-authz.test.ts).

const app = resolve("test/helpers/ext-authz-app.ts");
const forwarder = resolve("test/helpers/forwarder.ts");
let mesh: TestMesh;

beforeAll(async () => {
  mesh = await startTestMesh(`name: xa
services:
  - name: front
    versions: [{ name: v1, worker: ${forwarder} }]
    calls: [web, open]
  - name: web
    versions: [{ name: v1, worker: ${app} }]
  - name: open
    versions: [{ name: v1, worker: ${app} }]
  - name: authz
    versions: [{ name: v1, worker: ${app} }]
    dataPlane: edge
meshConfig:
  extensionProviders:
    - name: test-authz
      envoyExtAuthzHttp:
        service: authz
        pathPrefix: /check
        timeout: 5s
        includeRequestHeadersInCheck: [x-token]
        headersToUpstreamOnAllow: [x-user, "x-check-*"]
        headersToDownstreamOnDeny: [x-deny-reason, content-type]
        includeRequestBodyInCheck: { maxRequestBytes: 8, allowPartialMessage: true }
    - name: broken-authz
      envoyExtAuthzHttp: { service: authz, pathPrefix: /broken, failOpen: true }
`);
  await mesh.apply(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: all }
spec:
  parentRefs: [{ name: gateway }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /front } }]
      backendRefs: [{ name: front }]
    - matches: [{ path: { type: PathPrefix, value: /open } }]
      backendRefs: [{ name: open }]
    - backendRefs: [{ name: web }]
---
apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: gateway-private }
spec:
  targetRefs: [{ kind: Gateway, name: gateway }]
  action: CUSTOM
  provider: { name: test-authz }
  rules: [{ to: [{ operation: { paths: ["/private*"] } }] }]
---
apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: web-east-west }
spec:
  targetRefs: [{ kind: Service, name: web }]
  action: CUSTOM
  provider: { name: test-authz }
  rules: [{ from: [{ source: { principals: [front] } }] }]
---
apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: open-broken }
spec:
  targetRefs: [{ kind: Service, name: open }]
  action: CUSTOM
  provider: { name: broken-authz }
  rules: [{}]
`);
});
afterAll(() => mesh?.stop());

describe("at the gateway", () => {
  it("denied: the client gets the provider's status, body and listed headers only", async () => {
    const res = await mesh.get("/private/x", { headers: { "x-user": "admin" } });
    expect(res.status).toBe(401);
    expect(res.body).toBe("denied: /check/private/x\n");
    expect(res.headers["x-deny-reason"]).toBe("no token");
    expect(res.headers["x-secret"]).toBeUndefined();
    expect(res.headers["x-request-id"]).toBeDefined();
  });

  // web's own CUSTOM policy names the same provider: what the gateway's check set reaches web's app.
  it("allowed: the upstream gets the provider's headers (the client's copies gone), the check came from the gateway", async () => {
    const res = await mesh.get("/private/x?q=1", {
      host: "shop.example",
      headers: { "x-token": "ok-ann", "x-user": "admin", "x-other": "1" },
    });
    expect(res.status).toBe(200);
    const seen = res.json();
    expect(seen.headers["x-user"]).toBe("ann");
    expect(seen.headers["x-check-caller"]).toBe("gateway");
    expect(seen.headers["x-check-path"]).toBe("GET shop.example/check/private/x?q=1");
    expect(seen.headers["x-check-headers"]).not.toMatch(/x-other/);
  });

  it("a path no rule matches is not checked, and cannot bring the provider's headers itself", async () => {
    const res = await mesh.get("/public", { headers: { "x-user": "admin", "x-check-caller": "forged" } });
    expect(res.status).toBe(200);
    expect(res.json().headers["x-user"]).toBeUndefined();
    expect(res.json().headers["x-check-caller"]).toBeUndefined();
  });

  it("the check carries the first maxRequestBytes of the body; the upstream gets all of it", async () => {
    const res = await mesh.get("/private/upload", {
      method: "POST",
      headers: { "x-token": "ok-ann" },
      body: "0123456789abcdef",
    });
    expect(res.status).toBe(200);
    const seen = res.json();
    expect(seen.headers["x-check-body"]).toBe("01234567");
    expect(seen.headers["x-check-partial"]).toBe("true");
    expect(seen.body).toBe("0123456789abcdef");
  });
});

describe("at a service, east-west", () => {
  it("front's calls to web are checked at web, by web (props { caller: web })", async () => {
    const denied = await mesh.get("/front", { headers: { "x-forward-to": "WEB" } });
    expect(denied.status).toBe(401);
    const allowed = await mesh.get("/front/p", { headers: { "x-forward-to": "WEB", "x-token": "ok-bob" } });
    expect(allowed.status).toBe(200);
    expect(allowed.json().headers).toMatchObject({ "x-user": "bob", "x-check-caller": "web" });
  });

  it("a provider that fails lets the request through with failOpen, flagged ext_authz_error", async () => {
    const res = await mesh.get("/open");
    expect(res.status).toBe(200);
    expect(res.json().app).toBe("open");
    // Inline, the inbound half runs in open's isolate and its caller's half counts the request.
    if (INLINE) return;
    await eventually(
      async () => (await mesh.admin("/metrics")).body,
      (m) => /isomesh_request_flags_total\{reporter="open-edge",[^}]*flag="ext_authz_error"\} [1-9]/.test(m),
      { what: "the ext_authz_error flag counted at open's edge" },
    );
  });

  it("a denial is counted with its status and the ext_authz_denied flag", async () => {
    await mesh.get("/private/counted");
    await eventually(
      async () => (await mesh.admin("/metrics")).body,
      (m) => /isomesh_request_flags_total\{reporter="gateway",[^}]*flag="ext_authz_denied"\} [1-9]/.test(m),
      { what: "the ext_authz_denied flag counted at the gateway" },
    );
  });
});

describe("at apply", () => {
  it("a CUSTOM policy naming a provider the manifest does not declare is a 422 naming the field; nothing is stored", async () => {
    const res = await mesh.admin("/v1/apply", {
      method: "POST",
      body: `apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: typo }
spec:
  targetRefs: [{ kind: Service, name: web }]
  action: CUSTOM
  provider: { name: test-authz-typo }
`,
    });
    expect(res.status).toBe(422);
    expect(res.json().errors).toEqual([
      {
        resource: "AuthorizationPolicy/typo",
        path: "spec.provider.name",
        message: expect.stringMatching(/unknown provider "test-authz-typo" \(known: test-authz, broken-authz/),
      },
    ]);
    expect((await mesh.admin("/v1/resources/AuthorizationPolicy/typo")).status).toBe(404);
  });
});
