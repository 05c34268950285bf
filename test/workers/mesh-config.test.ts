// The manifest's meshConfig: Istio's stricter path normalization options and a mesh default timeout.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../helpers/eventually.ts";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";

let mesh: TestMesh;

beforeAll(async () => {
  mesh = await startTestMesh(`name: strict
meshConfig:
  pathNormalization: { normalization: MERGE_SLASHES, pathWithEscapedSlashesAction: REJECT_REQUEST }
  defaultTimeouts: { request: 1s }
services:
  - name: web
    versions: [{ name: v1, echo: true }]
`);
  await mesh.apply(`apiVersion: gateway.networking.k8s.io/v1
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
`);
  // The first apply of a fresh mesh does not wait for edges that have not reported yet.
  await eventually(
    () => mesh.get("/admin"),
    (r) => r.status === 403,
  );
});
afterAll(() => mesh?.stop());

describe("pathNormalization: MERGE_SLASHES with REJECT_REQUEST", () => {
  it("merges slashes before policy: //admin is /admin", async () => {
    expect((await mesh.get("//admin")).status).toBe(403);
    expect((await mesh.get("/x/..//admin")).status).toBe(403); // dot segments first (//admin), then merged
  });

  it("sends the backend the merged path", async () => {
    expect((await mesh.get("/a//b///c")).json().path).toBe("/a/b/c");
  });

  it.each(["/a%2Fb", "/a%2fb", "/%5Cadmin"])("refuses an escaped slash or backslash (%s) with 400", async (path) => {
    const res = await mesh.get(path);
    expect(res.status).toBe(400);
    expect(res.json().error.code).toBe("invalid_path");
    expect(res.json().error.message).toMatch(/escaped slash/);
  });
});

describe("defaultTimeouts.request", () => {
  it("gives up on a backend that does not answer within the mesh default", async () => {
    const started = Date.now();
    const res = await mesh.get("/hang", { headers: { "x-echo-delay-ms": "20000" } });
    expect(res.status).toBe(504);
    expect(res.json().error.code).toBe("upstream_timeout");
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("lets a route's own timeout win, also at the service edge behind the gateway", async () => {
    const res = await mesh.get("/slow", { headers: { "x-echo-delay-ms": "1500" } });
    expect(res.status).toBe(200);
    const deadline = Number(res.json().headers["x-isomesh-deadline-ms"]);
    expect(deadline).toBeGreaterThan(2500);
    expect(deadline).toBeLessThanOrEqual(4000);
  });

  it("explains which timeout applies at each hop", async () => {
    const hops = (await mesh.admin("/v1/explain", { method: "POST", body: JSON.stringify({ path: "/slow" }) })).json()
      .hops;
    expect(hops[0].decisions).toContainEqual(
      expect.objectContaining({ stage: "timeout", requestMs: 4000, source: "route" }),
    );
    expect(hops[0].children[0].decisions).toContainEqual(
      expect.objectContaining({ stage: "timeout", requestMs: 4000, source: "caller's deadline" }),
    );
    const plain = (await mesh.admin("/v1/explain", { method: "POST", body: JSON.stringify({ path: "/x" }) })).json()
      .hops;
    expect(plain[0].decisions).toContainEqual(
      expect.objectContaining({ stage: "timeout", requestMs: 1000, source: "mesh default" }),
    );
  });
});

describe("manifest validation", () => {
  it("refuses contradictory options, naming the field", async () => {
    await expect(
      startTestMesh(`name: bad
meshConfig: { pathNormalization: { normalization: DECODE_AND_MERGE_SLASHES, pathWithEscapedSlashesAction: REJECT_REQUEST } }
services: [{ name: web, versions: [{ name: v1, echo: true }] }]
`),
    ).rejects.toThrow(/pathWithEscapedSlashesAction/);
  });
});
