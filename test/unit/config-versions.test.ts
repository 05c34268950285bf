import { describe, expect, it } from "vitest";
import { shardKey, snapshotKey } from "../../shared/snapshot/distribution.ts";
import { MAX_STORED_DOCUMENT_BYTES } from "../../workers/control/config-store/plan.ts";
import { docs, serviceRoute, testConfig, topologyOf } from "../helpers/config-store.ts";

const topology = topologyOf({ web: ["v1", "v2"], api: ["v1"] });
const route = (version: string, name = "web") =>
  docs(serviceRoute(name, "web", `[{ name: web, version: ${version} }]`));
const by = { by: "alice" };

describe("versioned config: one commit path", () => {
  it("starts at version 0 with every edge published, and records nothing in history", async () => {
    const { config, kv } = await testConfig(topology);
    expect(config.version()).toBe(0);
    expect(config.history()).toEqual([]);
    expect([...config.wantedHashes().keys()].sort()).toEqual(["api-edge", "gateway", "web-edge"]);
    for (const [edge, hash] of config.wantedHashes()) expect(kv.data.has(snapshotKey(edge, hash))).toBe(true);
    expect(config.beacon()).toMatchObject({ version: 0 });
  });

  it("versions an apply: resources, history, snapshots in KV before the commit, nudges the edges it republished", async () => {
    const { config, kv, nudged } = await testConfig(topology);
    const result = await config.apply(route("v1"), by);
    expect(result).toMatchObject({
      ok: true,
      version: 1,
      changes: [{ kind: "HTTPRoute", name: "web", op: "added" }],
      republished: ["web-edge"],
    });
    const hash = config.wantedHashes().get("web-edge")!;
    expect(JSON.parse(kv.data.get(snapshotKey("web-edge", hash))!).vhosts[0].routes[0].backends).toEqual([
      { service: "web", version: "v1", weight: 1 },
    ]);
    expect(kv.data.has(shardKey(config.beacon().shards.find((s) => s)!))).toBe(true);
    expect(config.beacon().version).toBe(1);
    expect(nudged).toEqual([["web-edge"]]);
    expect(config.history()).toEqual([
      { version: 1, at: expect.any(String), by: "alice", changes: [{ kind: "HTTPRoute", name: "web", op: "added" }] },
    ]);
  });

  it("changes nothing for an identical apply, a dry run or a stale If-Match", async () => {
    const { config } = await testConfig(topology);
    await config.apply(route("v1"), by);
    expect(await config.apply(route("v1"), by)).toMatchObject({ ok: true, version: 1, changes: [] });
    expect(await config.apply(route("v2"), { ...by, dryRun: true })).toMatchObject({
      ok: true,
      version: 2,
      dryRun: true,
      changes: [{ op: "changed", fields: ["spec.rules"] }],
    });
    expect(await config.apply(route("v2"), { ...by, ifMatch: 0 })).toMatchObject({ ok: false, status: 409 });
    expect(config.version()).toBe(1);
  });

  it("refuses a change whose own references are broken, naming the field, and stores nothing", async () => {
    const { config } = await testConfig(topology);
    const result = await config.apply(route("v9"), by);
    expect(result).toMatchObject({
      ok: false,
      status: 422,
      errors: [{ resource: "HTTPRoute/web", path: "spec.rules[0].backendRefs[0].version" }],
    });
    expect(config.version()).toBe(0);
  });

  it("refuses a resource too large for one SQLite row", async () => {
    const { config } = await testConfig(topology);
    const [doc] = route("v1");
    const huge = {
      ...doc,
      metadata: { ...doc.metadata, annotations: { blob: "x".repeat(MAX_STORED_DOCUMENT_BYTES) } },
    };
    expect(await config.apply([huge], by)).toMatchObject({
      ok: false,
      status: 422,
      errors: [{ resource: "HTTPRoute/web", message: expect.stringMatching(/store keeps resources up to/) }],
    });
  });

  it("serializes concurrent changes: each a version, none lost", async () => {
    const { config } = await testConfig(topology);
    const results = await Promise.all(["a", "b", "c", "d"].map((n) => config.apply(route("v1", n), by)));
    expect(results.map((r) => r.ok && r.version).sort()).toEqual([1, 2, 3, 4]);
    expect(config.list("HTTPRoute").map((d) => d.metadata.name)).toEqual(["a", "b", "c", "d"]);
  });
});

describe("history and rollback", () => {
  it("shows one version in full: each resource before and after (GET /v1/history/{version})", async () => {
    const { config } = await testConfig(topology);
    await config.apply(route("v1"), by);
    await config.apply([...route("v2"), ...route("v1", "other")], { by: "bob", note: "shift" });
    await config.remove("HTTPRoute", "other", by);
    const [v1, v2] = [route("v1")[0], route("v2")[0]];
    expect(config.historyDetail(2)).toEqual({
      version: 2,
      at: expect.any(String),
      by: "bob",
      note: "shift",
      changes: [
        { kind: "HTTPRoute", name: "web", op: "changed", fields: ["spec.rules"] },
        { kind: "HTTPRoute", name: "other", op: "added" },
      ],
      resources: [
        { kind: "HTTPRoute", name: "web", before: v1, after: v2 },
        { kind: "HTTPRoute", name: "other", before: null, after: route("v1", "other")[0] },
      ],
    });
    expect(config.historyDetail(3)?.resources).toEqual([
      { kind: "HTTPRoute", name: "other", before: route("v1", "other")[0], after: null },
    ]);
    expect(config.historyDetail(4)).toBeUndefined();
    expect(config.historyWithDocuments(1)[0].changes).toEqual([
      { kind: "HTTPRoute", name: "other", op: "removed", before: route("v1", "other")[0] },
    ]);
  });

  it("rolls back to the config of an earlier version as a new version, bringing deleted resources back", async () => {
    const { config } = await testConfig(topology);
    await config.apply(route("v1"), by);
    await config.apply(route("v1", "other"), by);
    await config.apply(route("v2"), by);
    await config.remove("HTTPRoute", "other", by);
    const result = await config.rollback(2, by);
    expect(result).toMatchObject({ ok: true, version: 5 });
    expect(config.list("HTTPRoute")).toEqual([...route("v1", "other"), ...route("v1")]);
    expect(config.history(1)[0].note).toBe("rollback to version 2");
    expect(await config.rollback(0, by)).toMatchObject({ ok: true, version: 6 });
    expect(config.list()).toEqual([]);
    expect(await config.rollback(7, by)).toMatchObject({ ok: false, status: 404 });
  });
});

describe("a service's retry budget reaches the gateway that routes to it", () => {
  const gatewayRoute = docs(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ingress }
spec:
  parentRefs: [{ name: gateway }]
  rules: [{ backendRefs: [{ name: web }], retry: { attempts: 3 } }]
`);
  const budget = (service: string, percent: number) =>
    docs(`apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: ${service} }
spec:
  targetRefs: [{ kind: Service, name: ${service} }]
  retryBudget: { percent: ${percent} }
`);

  it("republishes the gateway when the budget of a service it routes to changes, and only then", async () => {
    const { config, kv } = await testConfig(topology);
    await config.apply(gatewayRoute, by);
    expect(await config.apply(budget("web", 10), by)).toMatchObject({ republished: ["web-edge", "gateway"] });
    const gateway = JSON.parse(kv.data.get(snapshotKey("gateway", config.wantedHashes().get("gateway")!))!);
    expect(gateway.retryBudgets).toEqual({ web: { policy: "web", budget: { percent: 10, minRetriesPerSecond: 10 } } });
    // api is not routed to from the gateway: its policy changes nothing there; nor does a web policy without a budget.
    expect(await config.apply(budget("api", 10), by)).toMatchObject({ republished: ["api-edge"] });
    const faults = docs(`apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: web }
spec:
  targetRefs: [{ kind: Service, name: web }]
  concurrencyLimit: 10
`);
    expect(await config.apply(faults, by)).toMatchObject({ republished: ["web-edge", "gateway"] }); // the budget is gone
    expect(await config.apply(docs(serviceRoute("web", "web", "[{ name: web, version: v1 }]")), by)).toMatchObject({
      republished: ["web-edge"],
    });
  });
});
