import { describe, expect, it } from "vitest";
import { ConfigTables } from "../../workers/control/config-store/config-tables.ts";
import { MIGRATIONS, migrate } from "../../workers/control/config-store/migrations.ts";
import { docs, memoryKv, serviceRoute, testConfig, topologyOf } from "../helpers/config-store.ts";
import { testStorage } from "../helpers/sql-storage.ts";

const gateway = docs(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: gw }
spec:
  parentRefs: [{ name: gateway }]
  rules: [{ backendRefs: [{ name: reviews }] }]
`);
const reviewsV4 = docs(serviceRoute("reviews", "reviews", "[{ name: reviews, version: v4 }]"));

/** The same state restarted with another manifest, as `isomesh dev` on the same `--state`. */
async function restart(first: Awaited<ReturnType<typeof testConfig>>, services: Record<string, string[]>) {
  return testConfig(topologyOf(services), { storage: first.storage, kv: first.kv, clock: first.clock });
}

const snapshotOf = (t: Awaited<ReturnType<typeof testConfig>>, edge: string) =>
  JSON.parse(t.config.snapshotBody(edge)!);

describe("a changed manifest on the same state (isomesh dev restarted)", () => {
  it("recompiles every edge for the new topology as one version, and drops edges that are gone", async () => {
    const first = await testConfig(topologyOf({ reviews: ["v1", "v4"], details: ["v1"] }));
    await first.config.apply(gateway, { by: "admin" });
    const next = await restart(first, { reviews: ["v1", "v2"], ratings: ["v1"] });
    expect(next.config.version()).toBe(2);
    expect(next.config.history(1)[0]).toMatchObject({
      by: "manifest",
      changes: [],
      note: "manifest changed: services added: ratings; services removed: details; versions: reviews +v2 -v4",
    });
    expect(snapshotOf(next, "reviews-edge")).toMatchObject({
      backends: ["v1", "v2"],
      defaultBackends: [{ version: "v1" }, { version: "v2" }],
    });
    expect(snapshotOf(next, "gateway").backends).toEqual(["reviews", "ratings"]);
    expect(next.config.snapshotBody("details-edge")).toBeNull();
    expect(next.config.snapshotBody("ratings-edge")).not.toBeNull();
    expect([...next.config.wantedHashes().keys()].sort()).toEqual(["gateway", "ratings-edge", "reviews-edge"]);
  });

  it("is no version when the manifest is the same, or changes nothing an edge runs", async () => {
    const first = await testConfig(topologyOf({ reviews: ["v1"] }));
    await first.config.apply(gateway, { by: "admin" });
    expect((await restart(first, { reviews: ["v1"] })).config.version()).toBe(1);
    const calls = topologyOf({ reviews: ["v1"] });
    calls.services[0].calls = ["ratings"];
    const again = await testConfig(calls, { storage: first.storage, kv: first.kv, clock: first.clock });
    expect(again.config.version()).toBe(1);
  });

  it("recompiles snapshots a control plane of another snapshot schema wrote, as a version only if one changed", async () => {
    const first = await testConfig(topologyOf({ reviews: ["v1"] }));
    await first.config.apply(gateway, { by: "admin" });
    first.storage.sql.exec("UPDATE meta SET value = '0' WHERE key = 'snapshot_schema'");
    expect((await restart(first, { reviews: ["v1"] })).config.version()).toBe(1); // same content: nothing to run
    first.storage.sql.exec("UPDATE meta SET value = '0' WHERE key = 'snapshot_schema'");
    first.storage.sql.exec("UPDATE snapshots SET content_hash = 'written-by-an-older-compiler' WHERE edge = 'gateway'");
    const next = await restart(first, { reviews: ["v1"] });
    expect(next.config.history(1)[0]).toMatchObject({
      version: 2,
      by: "manifest",
      note: expect.stringMatching(/^snapshots recompiled for snapshot schema \d+$/),
    });
  });

  it("reports resources that refer to what the manifest no longer has, and still accepts other changes", async () => {
    const first = await testConfig(topologyOf({ reviews: ["v1", "v4"] }));
    await first.config.apply([...gateway, ...reviewsV4], { by: "admin" });
    const next = await restart(first, { reviews: ["v1"] });
    expect(next.config.history(1)[0].note).toMatch(/refer to what the manifest no longer has: HTTPRoute\/reviews/);
    expect(next.config.analyzeWith([]).errors).toEqual([
      {
        resource: "HTTPRoute/reviews",
        path: "spec.rules[0].backendRefs[0].version",
        message: expect.stringMatching(/unknown version "v4"/),
      },
    ]);
    const policy = docs(`apiVersion: isomesh.dev/v1
kind: TrafficPolicy
metadata: { name: reviews }
spec: { targetRefs: [{ kind: Service, name: reviews }], concurrencyLimit: 5 }
`);
    const unrelated = await next.config.apply(policy, { by: "admin" });
    expect(unrelated).toMatchObject({
      ok: true,
      warnings: [{ resource: "HTTPRoute/reviews", message: expect.stringMatching(/stored before this change/) }],
    });
    expect(
      await next.config.apply(docs(serviceRoute("reviews", "reviews", "[{ name: reviews, version: v5 }]")), {
        by: "admin",
      }),
    ).toMatchObject({ ok: false, status: 422 });
    expect(await next.config.remove("HTTPRoute", "reviews", { by: "admin" })).toMatchObject({ ok: true });
  });

  it("applies the defaults that are new, never one a user deleted", async () => {
    const first = await testConfig(topologyOf({ reviews: ["v1"] }));
    expect(await first.config.applyDefaults(gateway, "admin")).toMatchObject({
      ok: true,
      version: 1,
      changes: [{ name: "gw", op: "added" }],
    });
    expect(await first.config.applyDefaults(gateway, "admin")).toBeNull();
    await first.config.remove("HTTPRoute", "gw", { by: "admin" });
    const extra = docs(serviceRoute("reviews", "reviews", "[{ name: reviews, version: v1 }]"));
    const next = await restart(first, { reviews: ["v1"] });
    expect(await next.config.applyDefaults([...gateway, ...extra], "admin")).toMatchObject({
      ok: true,
      version: 3,
      changes: [{ name: "reviews", op: "added" }],
    });
    expect(next.config.list().map((d) => d.metadata.name)).toEqual(["reviews"]);
    expect(next.config.history(1)[0]).toMatchObject({ note: "defaults", by: "admin" });
  });
});

describe("migrations", () => {
  it("moves old history rows (every document inline) to one row per changed resource, and remembers the defaults they applied", async () => {
    const storage = await testStorage();
    storage.sql.exec(MIGRATIONS[0]);
    storage.sql.exec(MIGRATIONS[1]);
    storage.sql.exec(
      "CREATE TABLE _migrations (id INTEGER PRIMARY KEY, at INTEGER NOT NULL); INSERT INTO _migrations VALUES (0, 0), (1, 0)",
    );
    const [gw] = gateway;
    const changed = { ...gw, spec: { ...gw.spec, hostnames: ["a.example"] } };
    const rows = [
      [1, "admin", [{ kind: "HTTPRoute", name: "gw", op: "added", after: gw }], "defaults"],
      [
        2,
        "alice",
        [{ kind: "HTTPRoute", name: "gw", op: "changed", fields: ["spec.hostnames"], before: gw, after: changed }],
        null,
      ],
      [
        3,
        "rollout/r",
        [{ kind: "Rollout", name: "r", op: "status", fields: ["status"], note: "waiting" }],
        "Progressing 10%: waiting",
      ],
      [4, "bob", [{ kind: "HTTPRoute", name: "gw", op: "removed", before: changed }], null],
    ] as const;
    for (const [v, who, changes, note] of rows)
      storage.sql.exec("INSERT INTO history VALUES (?, ?, ?, ?, ?)", v, 1000 * v, who, JSON.stringify(changes), note);
    storage.sql.exec("INSERT INTO meta VALUES ('version', '4')");
    migrate(storage.sql);

    const { config } = await testConfig(topologyOf({ reviews: ["v1"] }), { storage, kv: memoryKv() });
    expect(config.historyDetail(2)?.resources).toEqual([{ kind: "HTTPRoute", name: "gw", before: gw, after: changed }]);
    expect(config.historyDetail(4)?.resources).toEqual([
      { kind: "HTTPRoute", name: "gw", before: changed, after: null },
    ]);
    expect(config.history(2).map((e) => e.changes)).toEqual([
      [{ kind: "HTTPRoute", name: "gw", op: "removed" }],
      [{ kind: "Rollout", name: "r", op: "status", fields: ["status"], note: "waiting" }],
    ]);
    expect(new ConfigTables(storage.sql).documentsAt(2)).toEqual([changed]);
    expect(await config.applyDefaults(gateway, "admin")).toBeNull(); // applied at version 1, deleted since
  });
});
