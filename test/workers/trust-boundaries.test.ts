// Trust boundaries through a real mesh (issue 25): what an ordinary app can reach without any right
// to the mesh must not change another service's policy or the mesh's view of itself.
// 1. The Cache API is shared by every Worker on the zone: an app with no mesh bindings rewrites or
//    replays the cached version beacon. Policies hold, `apply --wait` still converges, status says so.
//    Both data planes read beacons here in one run: `web` through its edge (or, under
//    ISOMESH_TEST_DATA_PLANE=inline, its inline halves), `api` always through inline halves.
// 2. An inline app reaches the mesh's control binding through `cloudflare:workers`: it cannot report
//    as the gateway, count a pair it is not part of, or read another service's snapshot.
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emptyBuckets } from "../../shared/histogram.ts";
import { eventually } from "../helpers/eventually.ts";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";

const poisoner = resolve("test/fixtures/trust/cache-poisoner.ts");
const forger = resolve("test/fixtures/trust/forger.ts");
let mesh: TestMesh;

const route = (name: string, prefix: string, backend: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${name} }
spec:
  parentRefs: [{ name: gateway }]
  rules: [{ matches: [{ path: { type: PathPrefix, value: ${prefix} } }], backendRefs: [{ name: ${backend} }] }]
---
`;
const deny = (name: string, service: string, path: string) => `apiVersion: isomesh.dev/v1
kind: AuthorizationPolicy
metadata: { name: ${name} }
spec:
  targetRefs: [{ kind: Service, name: ${service} }]
  action: DENY
  rules: [{ to: [{ operation: { paths: ["${path}"] } }] }]
---
`;

beforeAll(async () => {
  mesh = await startTestMesh(`name: trust
services:
  - name: web
    versions: [{ name: v1, echo: true }]
  - name: poison
    versions: [{ name: v1, worker: ${poisoner} }]
  - name: api
    dataPlane: inline
    versions: [{ name: v1, echo: true }]
  - name: forger
    dataPlane: inline
    versions: [{ name: v1, worker: ${forger} }]
    calls: [api]
`);
  await mesh.apply(
    route("web", "/web", "web") +
      route("api", "/api", "api") +
      route("poison", "/poison", "poison") +
      route("forger", "/forger", "forger"),
  );
});
afterAll(() => mesh?.stop());

describe("1. an app with no mesh bindings cannot roll back config through the shared cache", () => {
  /** The beacon as the cache holds it: a request makes an isolate re-read it (the refresh interval is 500 ms). */
  const cachedBeacon = async () => {
    const res = await eventually(
      async () => {
        await mesh.get("/web/warm");
        await mesh.get("/api/warm");
        return mesh.get("/poison/read?mesh=trust");
      },
      (r) => r.status === 200,
      15_000,
    );
    expect(res.status, res.body).toBe(200);
    return res.body;
  };
  const put = async (text: string) =>
    expect((await mesh.get("/poison/write?mesh=trust", { method: "PUT", body: text })).status).toBe(200);
  /** A forged copy claiming version 999999: plain JSON as it was, or a signed beacon whose claims were edited. */
  const withVersion = (beacon: string, version: number) => {
    if (beacon.startsWith("{")) return JSON.stringify({ ...JSON.parse(beacon), version });
    const [header, claims, signature] = beacon.split(".");
    const edited = { ...JSON.parse(Buffer.from(claims, "base64url").toString()), version };
    return `${header}.${Buffer.from(JSON.stringify(edited)).toString("base64url")}.${signature}`;
  };

  it("a rewritten (version 999999) or replayed beacon leaves every DENY in force, and later applies converge", async () => {
    const before = await cachedBeacon(); // no policy yet
    await mesh.apply(deny("web-secret", "web", "/web/secret*") + deny("api-secret", "api", "/api/secret*"));
    const denied = async () => [(await mesh.get("/web/secret")).status, (await mesh.get("/api/secret")).status];
    expect(await denied()).toEqual([403, 403]);

    // The attack, kept up for 3 s (six refresh intervals): every isolate re-reads the cache meanwhile.
    const statuses = new Set<number>();
    const until = Date.now() + 3000;
    for (let i = 0; Date.now() < until; i++) {
      await put(i % 2 ? before : withVersion(before, 999_999));
      for (const s of await denied()) statuses.add(s);
    }
    expect([...statuses]).toEqual([403]);

    // The edges are not stuck at a forged version: a later change converges (200, not 202) and holds.
    await put(withVersion(before, 999_999));
    await mesh.apply(deny("web-other", "web", "/web/other*"));
    expect((await mesh.get("/web/other")).status).toBe(403);
    const status = (await mesh.admin("/v1/status")).json();
    expect(status.edges.find((e: { edge: string }) => e.edge === "web-edge").version).toBe(status.version);
  });

  it("the refusal shows in status, with the edge still synced", async () => {
    await mesh.get("/poison/write?mesh=trust", { method: "PUT", body: '{"version":999999,"shards":[]}' });
    const refused = (s: any) =>
      s.edges.filter((e: any) => e.state === "synced" && /refused the cached beacon/.test(e.error ?? ""));
    const status = await eventually(
      async () => {
        await mesh.get("/web/x");
        await mesh.get("/api/x");
        return (await mesh.admin("/v1/status")).json();
      },
      (s) => refused(s).length > 0,
      15_000,
    );
    expect(refused(status).length, JSON.stringify(status.edges)).toBeGreaterThan(0);
  });
});

describe("2. an inline app's control binding speaks only for the app", () => {
  const forged = (reporter: string, source: string, destination: string) => ({
    reporter,
    source,
    destination,
    version: "v1",
    route: "forged",
    code: 200,
    count: 7777,
    sumMs: 1,
    buckets: emptyBuckets(),
    retries: 0,
    flags: {},
  });

  it("a report as the gateway and a series for a pair it is not part of are dropped; its own still count", async () => {
    const batch = {
      report: {
        edge: "gateway",
        isolate: "gw#forged",
        version: 999_999,
        hash: "x",
        state: "rejected",
        error: "forged by an app",
      },
      windowStart: Date.now(),
      series: [forged("gateway", "nobody", "web"), forged("api-edge", "web", "api")],
      spans: [],
      explains: [],
    };
    const res = await mesh.get("/forger/report", { method: "POST", body: JSON.stringify(batch) });
    expect(res.status, res.body).toBe(200);
    // Legitimate traffic of the app: its call to api counted by api's outbound half in its isolate.
    expect((await mesh.get("/forger/call")).status).toBe(200);
    const metrics = await eventually(
      async () => (await mesh.admin("/metrics")).body,
      (m) => /isomesh_requests_total\{[^}]*reporter="api-edge"[^}]*source_workload="forger"/.test(m),
      15_000,
    );
    expect(metrics).toMatch(/isomesh_requests_total\{[^}]*reporter="api-edge"[^}]*source_workload="forger"/);
    expect(metrics).not.toMatch(/ 7777\b/);
    expect(metrics).not.toContain('source_workload="nobody"');
    const status = (await mesh.admin("/v1/status")).json();
    const gateway = status.edges.find((e: { edge: string }) => e.edge === "gateway");
    expect(gateway.state).not.toBe("rejected");
    expect(JSON.stringify(status)).not.toContain("forged by an app");
    // Its own isolate's report of its own inline edge is kept.
    const own = status.edges.find((e: { edge: string }) => e.edge === "forger-edge");
    expect(own.inline.some((i: string) => i.startsWith("forger/v1#"))).toBe(true);
  });

  it("reads the snapshots it holds (its callee's), not another service's", async () => {
    const other = await mesh.get("/forger/snapshot?edge=web-edge");
    expect(other.status, other.body).toBe(403);
    expect(other.body).toMatch(/not_in_scope: forger\/v1 holds no snapshot of web-edge/);
    const callee = await mesh.get("/forger/snapshot?edge=api-edge");
    expect(callee.status, callee.body).toBe(200);
    expect(JSON.parse(callee.body).edge).toBe("api-edge");
  });
});
