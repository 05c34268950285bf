import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";

// Static assets per version (DESIGN §2): two services and two versions of one service, each a
// project with its own files and its own `assets` settings, in one mesh. What each serves is what
// its project serves alone under `wrangler dev` (the table below was read from each project in a
// Miniflare of its own), through the mesh like any other request, in both data planes.
const fixture = (name: string) => resolve("test/fixtures/assets", name);
const MANIFEST = `name: static
services:
  - name: shop
    versions: [{ name: v1, worker: ${fixture("shop-front")} }]
  - name: docs
    versions:
      - { name: v1, worker: ${fixture("docs")} }
      - { name: v2, worker: ${fixture("docs-next")} }
  - name: status
    versions: [{ name: v1, worker: ${fixture("no-fetch")} }]
`;
const ROUTES = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: shop }
spec:
  parentRefs: [{ name: gateway }]
  hostnames: [shop.test]
  rules: [{ backendRefs: [{ name: shop }] }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: docs }
spec:
  parentRefs: [{ name: gateway }]
  hostnames: [docs.test]
  rules: [{ backendRefs: [{ name: docs }] }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: status }
spec:
  parentRefs: [{ name: gateway }]
  hostnames: [status.test]
  rules: [{ backendRefs: [{ name: status }] }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: docs-versions }
spec:
  parentRefs: [{ kind: Service, name: docs }]
  rules:
    - matches: [{ headers: [{ name: x-docs, value: next }] }]
      backendRefs: [{ name: docs, version: v2 }]
    - backendRefs: [{ name: docs, version: v1 }]
`;
const DENY_SECRET = `apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: shop-secret }
spec:
  targetRefs: [{ kind: Service, name: shop }]
  action: DENY
  rules: [{ to: [{ operation: { paths: [/secret] } }] }]
`;

const SHOP = "<p>shop front</p>";
const DOCS_404 = "<p>docs v1 has no such page</p>";
// [host, version header, path] → [status, Location or body excerpt]
const SERVED: [string, string, string, number, string][] = [
  ["shop.test", "", "/", 200, SHOP],
  ["shop.test", "", "/secret", 200, "<p>shop secret</p>"],
  ["shop.test", "", "/secret.html", 307, "/secret"], // html_handling: auto-trailing-slash (the default)
  ["shop.test", "", "/api/whoami", 200, '{"app":"shop-front","version":"v1"}'],
  ["shop.test", "", "/api/shell", 200, SHOP], // the app reads its own files through its binding (STATIC)
  ["shop.test", "", "/guide/", 404, "shop-front worker"],
  ["docs.test", "", "/", 200, "<p>docs v1 home</p>"],
  ["docs.test", "", "/guide", 307, "/guide/"], // force-trailing-slash
  ["docs.test", "", "/guide/", 200, "<p>docs v1 guide</p>"],
  ["docs.test", "", "/nope", 404, DOCS_404], // not_found_handling: 404-page
  ["docs.test", "", "/secret", 404, DOCS_404],
  ["docs.test", "", "/api/x", 200, '{"app":"docs","version":"v1","path":"/api/x"}'], // run_worker_first
  ["docs.test", "next", "/", 200, "<p>docs v2 home</p>"],
  ["docs.test", "next", "/guide", 200, "<p>docs v2 guide</p>"], // drop-trailing-slash
  ["docs.test", "next", "/guide/", 307, "/guide"],
  ["docs.test", "next", "/nope", 200, '{"app":"docs-next","version":"v2","path":"/nope"}'], // none: the Worker
  ["status.test", "", "/", 200, "<p>status page</p>"], // a Worker with no fetch handler: its files alone
];

describe.each(["edge", "inline"] as const)("%s data plane", (dataPlane) => {
  let mesh: TestMesh;
  beforeAll(async () => {
    mesh = await startTestMesh(MANIFEST, { gen: { dataPlane } });
    await mesh.apply(ROUTES);
  });
  afterAll(() => mesh?.stop());

  it.each(SERVED)("%s (x-docs: %s) %s → %i %s", async (host, next, path, status, expected) => {
    const res = await mesh.get(path, { host, headers: next ? { "x-docs": next } : {} });
    expect(res.status).toBe(status);
    if (status === 307) expect(new URL(res.headers.location!, "http://x").pathname).toBe(expected);
    else expect(res.body).toContain(expected);
    const service = host.split(".")[0];
    expect(res.headers["x-isomesh-backend"]).toBe(`${service}/${next ? "v2" : "v1"}`);
  });

  it("an asset is a request like any other: the service's policy applies to it", async () => {
    await mesh.apply(DENY_SECRET);
    const res = await mesh.get("/secret", { host: "shop.test" });
    expect(res.status).toBe(403);
    expect(res.json().error).toMatchObject({ code: "rbac_denied", policy: "shop-secret" });
    expect((await mesh.get("/", { host: "shop.test" })).body).toContain(SHOP);
  });
});
