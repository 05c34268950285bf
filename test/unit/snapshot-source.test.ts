import { afterAll, beforeEach, describe, expect, it, vi } from "vitest";
import { BEACON_SHARDS, shardKey, shardOf, snapshotKey } from "../../shared/snapshot/distribution.ts";
import { compileSnapshot } from "../../shared/snapshot/compile.ts";
import { sha256Hex } from "../../shared/snapshot/hash.ts";
import type { Snapshot } from "../../shared/snapshot/schema.ts";
import { SnapshotSource } from "../../workers/dataplane/snapshot-source.ts";

// The Workers Cache API, for running the edge's snapshot source in Node.
const store = new Map<string, Response>();
vi.stubGlobal("caches", {
  default: {
    match: async (r: Request) => store.get(r.url)?.clone(),
    put: async (r: Request, res: Response) => void store.set(r.url, res),
  },
});
// Unit files share their worker thread's globals (isolate: false): leave none behind.
afterAll(() => vi.unstubAllGlobals());

const topology = { mesh: "m", services: [{ name: "web", versions: ["v1", "v2"], calls: [] }] };
const EDGE = "web-edge";

type World = {
  kv: Map<string, string>;
  beacon: { version: number; shards: string[] };
  controlDown: boolean;
  kvDown: boolean;
};
let world: World;

function env() {
  return {
    EDGE_NAME: EDGE,
    MESH_NAME: "m",
    REFRESH_INTERVAL_MS: "0",
    SNAPSHOTS: {
      get: async (k: string) => (world.kvDown ? Promise.reject(new Error("kv down")) : (world.kv.get(k) ?? null)),
    },
    CONTROL: {
      beacon: async () => (world.controlDown ? Promise.reject(new Error("control down")) : world.beacon),
      snapshot: async () => null,
    },
  } as never;
}

/** Publishes a body for the edge as the ConfigStore would (KV snapshot + shard manifest + beacon). */
async function publish(version: number, body: string, hash?: string) {
  const h = hash ?? (await sha256Hex(body));
  world.kv.set(snapshotKey(EDGE, h), body);
  const manifest = JSON.stringify({ edges: { [EDGE]: h } });
  const mh = await sha256Hex(manifest);
  world.kv.set(shardKey(mh), manifest);
  const shards = new Array(BEACON_SHARDS).fill("");
  shards[shardOf(EDGE)] = mh;
  world.beacon = { version, shards };
  store.clear();
}

const snap = (version: number, weightV2: number): Snapshot => ({
  ...compileSnapshot(topology, EDGE, [], version),
  defaultBackends: [
    { service: "web", version: "v1", weight: 1 },
    { service: "web", version: "v2", weight: weightV2 },
  ],
});

const ctx = { waitUntil: () => {} } as unknown as ExecutionContext;

beforeEach(() => {
  world = {
    kv: new Map(),
    beacon: { version: 0, shards: new Array(BEACON_SHARDS).fill("") },
    controlDown: false,
    kvDown: false,
  };
  store.clear();
});

describe("edge snapshot source: static stability", () => {
  const make = () => {
    const changes = vi.fn();
    const source = new SnapshotSource(env(), (s) => s.version, changes);
    return { source, changes };
  };

  it("loads what the beacon names and reports synced", async () => {
    await publish(1, JSON.stringify(snap(1, 1)));
    const { source } = make();
    expect((await source.get(ctx)).snapshot.version).toBe(1);
    expect(source.report("i")).toMatchObject({ edge: EDGE, version: 1, state: "synced" });
  });

  it.each([
    ["a checksum mismatch", async () => publish(2, JSON.stringify(snap(2, 0)), "0".repeat(64)), /checksum mismatch/],
    ["schema-invalid JSON", async () => publish(2, JSON.stringify({ ...snap(2, 0), vhosts: "nope" })), /vhosts/],
    [
      "a snapshot for another edge",
      async () => publish(2, JSON.stringify({ ...snap(2, 0), edge: "other-edge" })),
      /for edge other-edge/,
    ],
    ["truncated JSON", async () => publish(2, JSON.stringify(snap(2, 0)).slice(0, 40)), /JSON/],
  ])("rejects %s, keeps serving the last good snapshot and reports rejected", async (_n, corrupt, error) => {
    await publish(1, JSON.stringify(snap(1, 1)));
    const { source } = make();
    await source.get(ctx);
    await corrupt();
    await source.check(true);
    expect((await source.get(ctx)).snapshot.version).toBe(1);
    const report = source.report("i");
    expect(report.state).toBe("rejected");
    expect(report.error).toMatch(error);
    // The next good snapshot clears the rejection.
    await publish(3, JSON.stringify(snap(3, 5)));
    await source.check(true);
    expect(source.report("i")).toMatchObject({ version: 3, state: "synced" });
  });

  it.each([
    ["the control plane", (w: World) => (w.controlDown = true)],
    ["KV", (w: World) => (w.kvDown = true)],
  ])("keeps the last good snapshot when %s is down", async (_n, breakIt) => {
    await publish(1, JSON.stringify(snap(1, 1)));
    const { source } = make();
    await source.get(ctx);
    await publish(2, JSON.stringify(snap(2, 0)));
    breakIt(world);
    await source.check(true);
    expect((await source.get(ctx)).snapshot.version).toBe(1);
    expect(source.report("i").state).toBe("synced");
  });

  it("never goes back to an older snapshot when the cached beacon is older than what it runs", async () => {
    await publish(1, JSON.stringify(snap(1, 1)));
    const older = world.beacon;
    const { source } = make();
    await source.get(ctx);
    await publish(2, JSON.stringify(snap(2, 0)));
    await source.check(true); // a nudge: version 2, read from the control plane
    // Another isolate's read of version 1 lands in the location's cache after ours.
    await caches.default.put(new Request("https://isomesh.internal/beacon/m"), new Response(JSON.stringify(older)));
    await source.check(false);
    expect((await source.get(ctx)).snapshot.version).toBe(2);
    expect(source.report("i").version).toBe(2);
  });

  it("starts a cold isolate from the bootstrap snapshot when nothing is readable", async () => {
    world.controlDown = true;
    const bootstrap = JSON.stringify(snap(0, 1));
    const source = new SnapshotSource(
      env(),
      (s) => s.version,
      () => {},
      undefined,
      bootstrap,
    );
    expect((await source.get(ctx)).snapshot.defaultBackends).toHaveLength(2);
  });

  it("keeps the bootstrap (the manifest's defaults) while the store has never accepted a change", async () => {
    const bootstrap = JSON.stringify(snap(0, 1));
    await publish(0, JSON.stringify({ ...snap(0, 0), defaultBackends: [] })); // version 0: the empty store, defaults not yet applied
    const source = new SnapshotSource(
      env(),
      (s) => s,
      () => {},
      undefined,
      bootstrap,
    );
    expect((await source.get(ctx)).snapshot.defaultBackends).toHaveLength(2);
    await source.check(true);
    expect((await source.get(ctx)).snapshot.defaultBackends).toHaveLength(2);
    await publish(1, JSON.stringify(snap(1, 0)));
    await source.check(true);
    expect((await source.get(ctx)).snapshot.version).toBe(1);
  });

  it("fails clearly with no bootstrap and no control plane", async () => {
    world.controlDown = true;
    const source = new SnapshotSource(
      env(),
      (s) => s.version,
      () => {},
    );
    await expect(source.get(ctx)).rejects.toThrow(/no snapshot/);
  });
});

describe("edge snapshot source: nudges", () => {
  it("a nudge during a forced check under way is not lost: it checks again after it", async () => {
    await publish(1, JSON.stringify(snap(1, 1)));
    let release!: () => void;
    let gated = false;
    const e = env() as { CONTROL: { beacon: () => Promise<unknown> } };
    const beacon = e.CONTROL.beacon;
    // The first nudge's check reads the beacon (version 2), then stalls before it finishes.
    e.CONTROL.beacon = async () => {
      const b = await beacon();
      if (gated) await new Promise<void>((r) => (release = r));
      return b;
    };
    const source = new SnapshotSource(
      e as never,
      (s) => s.version,
      () => {},
    );
    await source.get(ctx);
    await publish(2, JSON.stringify(snap(2, 0)));
    gated = true;
    const first = source.check(true);
    await vi.waitFor(() => expect(release).toBeTypeOf("function"));
    gated = false;
    await publish(3, JSON.stringify(snap(3, 2)));
    const second = source.check(true); // the nudge for version 3, while version 2's check is under way
    release();
    await Promise.all([first, second]);
    expect(source.report("i").version).toBe(3);
    expect(source.snapshot?.version).toBe(3);
  });
});
