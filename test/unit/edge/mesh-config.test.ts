import { describe, expect, it } from "vitest";
import { testMesh } from "../../helpers/edge.ts";

// The manifest's meshConfig at the edges, in process: Istio's stricter path normalization options
// and a mesh default timeout.

const manifest = `name: strict
meshConfig:
  pathNormalization: { normalization: MERGE_SLASHES, pathWithEscapedSlashesAction: REJECT_REQUEST }
  defaultTimeouts: { request: 300ms }
services:
  - { name: web, versions: [{ name: v1, echo: true }] }
`;
const config = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web }
spec:
  parentRefs: [{ name: gateway }]
  rules:
    - backendRefs: [{ name: web }]
    - matches: [{ path: { type: PathPrefix, value: /slow } }]
      backendRefs: [{ name: web }]
      timeouts: { request: 4s }
---
apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: deny-admin }
spec:
  targetRefs: [{ kind: Gateway, name: gateway }]
  action: DENY
  rules: [{ to: [{ operation: { paths: ["/admin", "/admin/*"] } }] }]
`;
const mesh = testMesh(manifest, config);
const json = async (r: Response) =>
  (await r.json()) as { path: string; headers: Record<string, string>; error: { code: string; message: string } };

describe("pathNormalization: MERGE_SLASHES with REJECT_REQUEST", () => {
  it("merges slashes before policy: //admin is /admin, after dot segments", async () => {
    expect((await mesh.request("//admin")).status).toBe(403);
    expect((await mesh.request("/x/..//admin")).status).toBe(403);
  });

  it("sends the backend the merged path", async () => {
    expect((await json(await mesh.request("/a//b///c"))).path).toBe("/a/b/c");
  });

  it.each(["/a%2Fb", "/a%2fb", "/%5Cadmin"])("refuses an escaped slash or backslash (%s) with 400", async (path) => {
    const res = await mesh.request(path);
    expect(res.status).toBe(400);
    expect((await json(res)).error).toMatchObject({
      code: "invalid_path",
      message: expect.stringMatching(/escaped slash/),
    });
  });
});

describe("defaultTimeouts.request", () => {
  it("gives up on a backend that does not answer within the mesh default", async () => {
    const started = Date.now();
    const res = await mesh.request("/hang", { headers: { "x-echo-delay-ms": "20000" } });
    expect(res.status).toBe(504);
    expect((await json(res)).error.code).toBe("upstream_timeout");
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("lets a route's own timeout win, also at the service edge behind the gateway", async () => {
    const res = await mesh.request("/slow", { headers: { "x-echo-delay-ms": "400" } });
    expect(res.status).toBe(200);
    const deadline = Number((await json(res)).headers["x-isomesh-deadline-ms"]);
    expect(deadline).toBeGreaterThan(2500);
    expect(deadline).toBeLessThanOrEqual(4000);
  });
});
