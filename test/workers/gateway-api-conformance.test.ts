import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { echoManifest, startTestMesh, type TestMesh } from "../helpers/mesh.ts";

// Conformance-style cases against the local mesh (gateway and GAMMA routes, echo backends in
// workerd), each named for the upstream Gateway API conformance test it follows
// (kubernetes-sigs/gateway-api conformance/tests/*.go). Upstream's infra-backend-v1/v2 pods are
// echo services here, GAMMA's echo-v1/v2 are versions of one service; upstream's retry simulation
// (`succeedAfter`, `responseCode`, `delayRetry`) is the echo's x-echo-fail-times (503s),
// x-echo-status and x-echo-delay-ms.

let mesh: TestMesh;
beforeAll(async () => {
  mesh = await startTestMesh(echoManifest({ "infra-v1": ["v1"], "infra-v2": ["v1"], echo: ["v1", "v2"] }));
  await mesh.apply(config);
});
afterAll(() => mesh?.stop());

const setHeader = (name: string, value: string) =>
  `[{ type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: ${name}, value: ${value} }] } }]`;
const config = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: request-header-modifier-backend-weights }
spec:
  parentRefs: [{ name: gateway }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /weights } }]
      backendRefs:
        - { name: infra-v1, weight: 10, filters: ${setHeader("backend", "infra-v1")} }
        - { name: infra-v2, weight: 10, filters: ${setHeader("backend", "infra-v2")} }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: backend-url-rewrite }
spec:
  parentRefs: [{ name: gateway }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /full } }]
      backendRefs:
        - name: infra-v1
          filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplaceFullPath, replaceFullPath: /rewritten-full } } }]
    - matches: [{ path: { type: PathPrefix, value: /prefix } }]
      backendRefs:
        - name: infra-v1
          filters:
            - type: URLRewrite
              urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /rewritten-prefix } }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: backend-request-redirect }
spec:
  parentRefs: [{ name: gateway }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /redirect-full } }]
      backendRefs:
        - name: infra-v1
          filters:
            - type: RequestRedirect
              requestRedirect: { path: { type: ReplaceFullPath, replaceFullPath: /redirected-full } }
    - matches: [{ path: { type: PathPrefix, value: /redirect-prefix } }]
      backendRefs:
        - name: infra-v1
          filters:
            - type: RequestRedirect
              requestRedirect: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /redirected-prefix } }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: retries-with-timeouts }
spec:
  parentRefs: [{ name: gateway }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /retry/backend-request-timeout-200ms } }]
      retry: { attempts: 2 }
      timeouts: { backendRequest: 200ms }
      backendRefs: [{ name: infra-v1 }]
    - matches: [{ path: { type: PathPrefix, value: /retry/request-timeout-200ms } }]
      retry: { codes: [500, 503], attempts: 5 }
      timeouts: { backendRequest: 200ms, request: 400ms }
      backendRefs: [{ name: infra-v1 }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: mesh-entry }
spec:
  parentRefs: [{ name: gateway }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /mesh } }]
      backendRefs: [{ name: echo }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: mesh-request-header-modifier }
spec:
  parentRefs: [{ kind: Service, name: echo }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /mesh/set } }]
      backendRefs:
        - { name: echo, version: v1, filters: ${setHeader("X-Header-Set", "set-overwrites-values")} }
    - matches: [{ path: { type: PathPrefix, value: /mesh/add } }]
      backendRefs:
        - name: echo
          version: v1
          filters:
            [{ type: RequestHeaderModifier, requestHeaderModifier: { add: [{ name: X-Header-Add, value: add-appends-values }] } }]
    - matches: [{ path: { type: PathPrefix, value: /mesh/remove } }]
      backendRefs:
        - { name: echo, version: v1, filters: [{ type: RequestHeaderModifier, requestHeaderModifier: { remove: [X-Header-Remove] } }] }
    - matches: [{ path: { type: PathPrefix, value: /mesh/weights } }]
      backendRefs:
        - { name: echo, version: v1, weight: 10, filters: ${setHeader("backend", "v1")} }
        - { name: echo, version: v2, weight: 10, filters: ${setHeader("backend", "v2")} }
`;

type Echo = { service: string; version: string; path: string; headers: Record<string, string> };

describe("Gateway API conformance (gateway routes)", () => {
  it("HTTPRouteRequestHeaderModifierBackendWeights: each weighted backend sets its own header", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const res = await mesh.get("/weights");
      expect(res.status).toBe(200);
      const body = res.json<Echo>();
      expect(body.headers.backend).toBe(body.service);
      seen.add(body.service);
    }
    expect([...seen].sort()).toEqual(["infra-v1", "infra-v2"]);
  });

  it("HTTPRouteBackendURLRewrite: full path and prefix rewrites on the backendRef", async () => {
    expect((await mesh.get("/full/original")).json<Echo>().path).toBe("/rewritten-full");
    expect((await mesh.get("/prefix/original")).json<Echo>().path).toBe("/rewritten-prefix/original");
  });

  it("HTTPRouteBackendRequestRedirect: full path and prefix redirects on the backendRef", async () => {
    const full = await mesh.get("/redirect-full/original", { host: "example.test" });
    expect(full.status).toBe(302);
    expect(new URL(full.headers.location).pathname).toBe("/redirected-full");
    const prefix = await mesh.get("/redirect-prefix/original", { host: "example.test" });
    expect(prefix.status).toBe(302);
    expect(new URL(prefix.headers.location).pathname).toBe("/redirected-prefix/original");
  });
});

describe("Gateway API conformance: HTTPRouteRetryWithTimeouts", () => {
  const key = () => `k-${Math.random()}`;

  it("succeeds after 2 retries with max attempts 3", async () => {
    const res = await mesh.get("/retry/backend-request-timeout-200ms", {
      headers: { "x-echo-fail-times": "2", "x-echo-key": key() },
    });
    expect(res.status).toBe(200);
    expect(res.headers["x-isomesh-attempts"]).toBe("3");
  });

  it("fails with 504 when every try passes the backend request timeout", async () => {
    const res = await mesh.get("/retry/backend-request-timeout-200ms", { headers: { "x-echo-delay-ms": "300" } });
    expect(res.status).toBe(504);
    expect(res.headers["x-isomesh-error"]).toBe("upstream_timeout");
  });

  it("succeeds when retries complete within the request timeout", async () => {
    const res = await mesh.get("/retry/request-timeout-200ms", {
      headers: { "x-echo-fail-times": "1", "x-echo-key": key() },
    });
    expect(res.status).toBe(200);
  });

  it("fails with 504 when retry delays exceed the request timeout, never with the last try's 500", async () => {
    // Issue 17 item 4: a backend that answers 500 after 100 ms; about 40% got the 500 before.
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        mesh.get("/retry/request-timeout-200ms", { headers: { "x-echo-status": "500", "x-echo-delay-ms": "100" } }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(504));
    for (const r of results) expect(r.headers["x-isomesh-error"]).toBe("upstream_timeout");
  });
});

describe("Gateway API conformance (GAMMA routes on a service)", () => {
  it("MeshHTTPRouteBackendRequestHeaderModifier: set, add and remove on the backendRef", async () => {
    const set = (await mesh.get("/mesh/set", { headers: { "x-header-set": "some-other-value" } })).json<Echo>();
    expect(set.headers["x-header-set"]).toBe("set-overwrites-values");
    const add = (await mesh.get("/mesh/add", { headers: { "x-header-add": "header-val-1" } })).json<Echo>();
    expect(add.headers["x-header-add"]).toBe("header-val-1, add-appends-values");
    const removed = (await mesh.get("/mesh/remove", { headers: { "x-header-remove": "val" } })).json<Echo>();
    expect(removed.headers["x-header-remove"]).toBeUndefined();
  });

  it("MeshHTTPRouteRequestHeaderModifierBackendWeights: each weighted version sets its own header", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const body = (await mesh.get("/mesh/weights")).json<Echo>();
      expect(body.headers.backend).toBe(body.version);
      seen.add(body.version);
    }
    expect([...seen].sort()).toEqual(["v1", "v2"]);
  });
});
