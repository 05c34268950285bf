import { INLINE } from "../helpers/data-plane.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { echoManifest, startTestMesh, type TestMesh, VIEWER_TOKEN } from "../helpers/mesh.ts";

let mesh: TestMesh;
const route = (name: string, version: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${name} }
spec:
  parentRefs: [{ kind: Service, name: web }]
  rules: [{ backendRefs: [{ name: web, version: ${version} }] }]
`;
const versionOf = async () => (await mesh.admin("/v1/version")).json().version as number;
const served = async () =>
  new Set(await Promise.all(Array.from({ length: 12 }, async () => (await mesh.get("/")).json().version)));

beforeAll(async () => {
  mesh = await startTestMesh(echoManifest({ web: ["v1", "v2"], api: ["v1"], other: ["v1"] }));
  await mesh.apply(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: gw }
spec:
  parentRefs: [{ name: gateway }]
  rules: [{ backendRefs: [{ name: web }] }]
`);
});
afterAll(() => mesh?.stop());

describe("versioned changes", () => {
  it("dry-run returns the diff with changed fields and stores nothing", async () => {
    await mesh.apply(route("web", "v1"));
    const v = await versionOf();
    const res = await mesh.admin("/v1/apply?dryRun=true", { method: "POST", body: route("web", "v2") });
    expect(res.json()).toMatchObject({
      version: v + 1,
      dryRun: true,
      changes: [{ kind: "HTTPRoute", name: "web", op: "changed", fields: ["spec.rules"] }],
      republished: ["web-edge"],
    });
    expect(await versionOf()).toBe(v);
    expect(await served()).toEqual(new Set(["v1"]));
  });

  it("applies with If-Match only at the expected version (409 otherwise)", async () => {
    const v = await versionOf();
    const stale = await mesh.admin("/v1/apply", {
      method: "POST",
      body: route("web", "v2"),
      headers: { "if-match": String(v - 1) },
    });
    expect(stale.status).toBe(409);
    expect(await versionOf()).toBe(v);
    const ok = await mesh.admin("/v1/apply?wait=true", {
      method: "POST",
      body: route("web", "v2"),
      headers: { "if-match": String(v) },
    });
    expect(ok.status).toBe(200);
    expect(await served()).toEqual(new Set(["v2"]));
  });

  it("serializes concurrent applies: with If-Match exactly one wins, and no update is lost", async () => {
    const v = await versionOf();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        mesh.admin("/v1/apply", {
          method: "POST",
          body: route(`race-${i}`, "v1").replace("name: web }", "name: web }"),
          headers: { "if-match": String(v) },
        }),
      ),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(7);
    const free = await Promise.all(
      Array.from({ length: 6 }, (_, i) => mesh.admin("/v1/apply", { method: "POST", body: route(`free-${i}`, "v1") })),
    );
    const versions = free.map((r) => r.json().version).sort((a, b) => a - b);
    expect(versions).toEqual([v + 2, v + 3, v + 4, v + 5, v + 6, v + 7]);
    const names = (await mesh.admin("/v1/resources/HTTPRoute"))
      .json()
      .items.map((r: { metadata: { name: string } }) => r.metadata.name);
    for (let i = 0; i < 6; i++) expect(names).toContain(`free-${i}`);
  });

  it("records history, and rollback restores behaviour as a new version", async () => {
    for (const n of [
      "race-0",
      "race-1",
      "race-2",
      "race-3",
      "race-4",
      "race-5",
      "race-6",
      "race-7",
      "free-0",
      "free-1",
      "free-2",
      "free-3",
      "free-4",
      "free-5",
    ])
      await mesh.admin(`/v1/resources/HTTPRoute/${n}`, { method: "DELETE" });
    await mesh.apply(route("web", "v1"));
    const atV1 = await versionOf();
    await mesh.apply(route("web", "v2"));
    expect(await served()).toEqual(new Set(["v2"]));
    const history = (await mesh.admin("/v1/history?limit=3")).json().entries;
    expect(history[0]).toMatchObject({
      version: atV1 + 1,
      by: "admin",
      changes: [{ kind: "HTTPRoute", name: "web", op: "changed" }],
    });
    const rb = await mesh.admin("/v1/rollback?wait=true", { method: "POST", body: JSON.stringify({ version: atV1 }) });
    expect(rb.json()).toMatchObject({ version: atV1 + 2, converged: true });
    expect(await served()).toEqual(new Set(["v1"]));
    expect((await mesh.admin("/v1/history?limit=1")).json().entries[0].note).toBe(`rollback to version ${atV1}`);
  });

  it("versions deletions, and rollback brings a deleted resource back", async () => {
    await mesh.admin("/v1/resources/HTTPRoute/web?wait=true", { method: "DELETE" });
    const afterDelete = await versionOf();
    expect(await served()).toEqual(new Set(["v1", "v2"])); // no route: equal split
    await mesh.admin("/v1/rollback?wait=true", { method: "POST", body: JSON.stringify({ version: afterDelete - 1 }) });
    expect((await mesh.admin("/v1/resources/HTTPRoute/web")).status).toBe(200);
  });

  it("shows one version in full: every resource it changed, before and after (GET /v1/history/{version})", async () => {
    await mesh.apply(route("web", "v1"));
    const v = await versionOf();
    await mesh.apply(route("web", "v2"));
    const res = await mesh.admin(`/v1/history/${v + 1}`, { token: VIEWER_TOKEN });
    expect(res.status).toBe(200);
    const entry = res.json();
    expect(entry).toMatchObject({
      version: v + 1,
      by: "admin",
      changes: [{ kind: "HTTPRoute", name: "web", op: "changed", fields: ["spec.rules"] }],
    });
    expect(entry.resources).toEqual([
      { kind: "HTTPRoute", name: "web", before: parse(route("web", "v1")), after: parse(route("web", "v2")) },
    ]);
    for (const bad of ["9999", "abc", "-1"]) {
      const missing = await mesh.admin(`/v1/history/${bad}`, { token: VIEWER_TOKEN });
      expect(missing.status).toBe(404);
      expect(missing.json().errors).toEqual([{ resource: "version", path: "version", message: expect.any(String) }]);
    }
  });

  it("rejects a rollback to a version that does not exist", async () => {
    const res = await mesh.admin("/v1/rollback", { method: "POST", body: JSON.stringify({ version: 9999 }) });
    expect(res.status).toBe(404);
  });
});

describe("scoped snapshots and sync status", () => {
  it("republishes only the edge a change feeds, with nothing of unrelated services", async () => {
    const res = await mesh.apply(`apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: api }
spec:
  targetRefs: [{ kind: Service, name: api }]
  concurrencyLimit: 5
`);
    expect(res.republished).toEqual(["api-edge"]);
    const snap = (await mesh.admin("/v1/snapshots/api-edge")).json();
    expect(snap.policy.name).toBe("api");
    expect(JSON.stringify(snap)).not.toContain("web");
    expect(JSON.stringify((await mesh.admin("/v1/snapshots/other-edge")).json())).not.toMatch(/"api"|web/);
  });

  it("shows every edge that reported as synced with the current version, and one no isolate runs as idle", async () => {
    for (const p of ["/", "/"]) await mesh.get(p);
    const status = (await mesh.admin("/v1/status")).json();
    const edge = (name: string) => status.edges.find((e: { edge: string }) => e.edge === name);
    expect(edge("gateway")).toMatchObject({ state: "synced", isolates: 1 });
    expect(edge("gateway").lastSeen).toMatch(/^\d{4}-/);
    expect(edge("other-edge")).toMatchObject({ state: "idle", isolates: 0, version: null }); // never called: no isolate, nothing stale
    // Inline, web has no edge: its snapshot runs in the gateway's isolate (outbound) and in web's apps (inbound).
    if (INLINE) {
      expect(edge("web-edge")).toMatchObject({ state: "synced" });
      expect(edge("web-edge").inline.length).toBeGreaterThanOrEqual(2);
      expect(edge("web-edge").inline.some((i: string) => /^web\/v[12]#[0-9a-f]+$/.test(i))).toBe(true);
    } else expect(edge("web-edge")).not.toHaveProperty("inline");
    expect(status.converged).toBe(1);
  });

  it("analyzes the stored config and proposed changes without storing them", async () => {
    const v = await versionOf();
    const res = (await mesh.admin("/v1/analyze", { method: "POST", body: route("web2", "v9") })).json();
    expect(res.errors[0]).toMatchObject({ resource: "HTTPRoute/web2", path: "spec.rules[0].backendRefs[0].version" });
    expect(await versionOf()).toBe(v);
  });
});

describe("OpenAPI", () => {
  it("describes every admin route and every kind's schema, without a token", async () => {
    const res = await mesh.admin("/openapi.json", { token: "" });
    expect(res.status).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe("3.1.0");
    for (const path of [
      "/v1/apply",
      "/v1/resources/{kind}/{name}",
      "/v1/version",
      "/v1/history",
      "/v1/history/{version}",
      "/v1/rollback",
      "/v1/status",
      "/v1/snapshots/{edge}",
      "/metrics",
      "/v1/stats",
      "/v1/graph",
      "/v1/traces/{traceId}",
    ])
      expect(Object.keys(doc.paths)).toContain(path);
    for (const kind of [
      "HTTPRoute",
      "TrafficPolicy",
      "RequestAuthentication",
      "AuthorizationPolicy",
      "Rollout",
      "ExternalService",
    ])
      expect(doc.components.schemas[kind]).toBeDefined();
    expect(doc.components.schemas.ExternalService.properties.spec.required).toContain("hosts");
    // Every $ref resolves within the document.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]);
    for (const r of new Set(refs)) expect(doc.components.schemas[r], r).toBeDefined();
  });
});
