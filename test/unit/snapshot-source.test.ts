import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BEACON_SHARDS, shardKey, shardOf, snapshotKey } from "../../shared/snapshot/distribution.ts";
import { compileSnapshot } from "../../shared/snapshot/compile.ts";
import { sha256Hex } from "../../shared/snapshot/hash.ts";
import type { Snapshot } from "../../shared/snapshot/schema.ts";
import { SnapshotSource } from "../../workers/dataplane/snapshot-source.ts";
import { TEST_BEACON_KEYS, testSignedBeacon } from "../helpers/beacon-keys.ts";

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
  /** The snapshot the ConfigStore holds for the edge (what CONTROL.snapshot serves). */
  stored?: { hash: string; body: string };
};
let world: World;

function env() {
  return {
    EDGE_NAME: EDGE,
    MESH_NAME: "m",
    BEACON_KEYS: TEST_BEACON_KEYS,
    REFRESH_INTERVAL_MS: "0",
    SNAPSHOTS: {
      get: async (k: string) => (world.kvDown ? Promise.reject(new Error("kv down")) : (world.kv.get(k) ?? null)),
    },
    CONTROL: {
      // Signed as the control plane signs: issued now, for mesh "m".
      beacon: async () =>
        world.controlDown
          ? Promise.reject(new Error("control down"))
          : testSignedBeacon({ ...world.beacon, mesh: "m", issuedAt: Date.now() }),
      snapshot: async (_edge: string, hash: string) =>
        world.stored && (!hash || world.stored.hash === hash) ? world.stored.body : null,
    },
  } as never;
}

/** Publishes a body for the edge as the ConfigStore would (KV snapshot + shard manifest + beacon). */
async function publish(version: number, body: string, hash?: string) {
  const h = hash ?? (await sha256Hex(body));
  world.kv.set(snapshotKey(EDGE, h), body);
  world.stored = { hash: h, body };
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
    const replay = await testSignedBeacon({ ...older, mesh: "m", issuedAt: Date.now() });
    await caches.default.put(new Request("https://isomesh.internal/beacon/m"), new Response(replay));
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

describe("edge snapshot source: trust (issue 25)", () => {
  const KEY = new Request("https://isomesh.internal/beacon/m");
  const make = (e = env()) =>
    new SnapshotSource(
      e,
      (s) => s.version,
      () => {},
    );
  /** What an app on the zone can do: put any text under the beacon's cache key. */
  const poison = (text: string) => caches.default.put(KEY, new Response(text));
  const signed = (over: Partial<{ version: number; shards: string[]; mesh: string; issuedAt: number }> = {}) =>
    testSignedBeacon({ ...world.beacon, mesh: "m", issuedAt: Date.now(), ...over });
  afterEach(() => vi.useRealTimers());

  it("ignores a forged cached beacon (the old plain JSON, version 999999), reads the control plane and reports it", async () => {
    await publish(1, JSON.stringify(snap(1, 1)));
    const source = make();
    await source.get(ctx);
    await publish(2, JSON.stringify(snap(2, 0)));
    await poison(JSON.stringify({ ...world.beacon, version: 999_999 }));
    await source.check(false);
    expect(source.snapshot?.version).toBe(2);
    expect(source.report("i")).toMatchObject({
      version: 2,
      state: "synced",
      error: expect.stringMatching(/refused the cached beacon: not a signed beacon/),
    });
    // Its own read replaced the forgery in the cache.
    expect(await (await caches.default.match(KEY))!.text()).toMatch(/^ey/);
  });

  it("refuses a signed beacon whose claims were edited (version 999999, the signature kept)", async () => {
    await publish(1, JSON.stringify(snap(1, 1)));
    const source = make();
    await source.get(ctx);
    const [header, , signature] = (await signed()).split(".");
    const claims = Buffer.from(
      JSON.stringify({ ...world.beacon, mesh: "m", issuedAt: Date.now(), version: 999_999 }),
    ).toString("base64url");
    await poison(`${header}.${claims}.${signature}`);
    await source.check(false);
    expect(source.report("i")).toMatchObject({
      version: 1,
      state: "synced",
      error: expect.stringMatching(/signature invalid/),
    });
    await publish(2, JSON.stringify(snap(2, 0)));
    await source.check(false); // the next version still gets through
    expect(source.report("i").version).toBe(2);
  });

  it("never installs a replayed older beacon, even one validly signed, and is not held back by it", async () => {
    await publish(1, JSON.stringify(snap(1, 1)));
    const old = await signed(); // captured by an app before the change
    const source = make();
    await source.get(ctx);
    await publish(2, JSON.stringify(snap(2, 0)));
    await source.check(true);
    await publish(3, JSON.stringify(snap(3, 2)));
    await poison(old); // kept in the cache by the app, long max-age
    await source.check(false);
    expect(source.snapshot?.version).toBe(3); // behind what it holds: the control plane was asked
  });

  it("refuses a beacon issued more than 30 s ago: a cold isolate cannot be fed an old config", async () => {
    await publish(1, JSON.stringify(snap(1, 1)));
    const stale = await signed({ issuedAt: Date.now() - 31_000 });
    world.controlDown = true;
    const bootstrap = JSON.stringify(snap(0, 5));
    const source = new SnapshotSource(
      env(),
      (s) => s.defaultBackends,
      () => {},
      undefined,
      bootstrap,
    );
    await poison(stale);
    expect((await source.get(ctx)).snapshot.version).toBe(0); // the bootstrap, not version 1
    expect(source.report("i").error).toMatch(/issued 31 s ago, beyond the 30 s bound/);
  });

  it("keeps its version when the control plane itself goes back (a forced check after a nudge)", async () => {
    await publish(5, JSON.stringify(snap(5, 1)));
    const source = make();
    await source.get(ctx);
    await publish(3, JSON.stringify(snap(3, 0))); // a reset or restored store
    await source.check(true);
    expect(source.snapshot?.version).toBe(5);
    expect(source.report("i")).toMatchObject({
      version: 5,
      state: "synced",
      error: expect.stringMatching(/version 3, older than the 5/),
    });
  });

  it.each([
    ["another mesh's beacon", () => signed({ mesh: "other" }), /for mesh other, not m/],
    [
      "a beacon signed by a key the data plane does not hold",
      async () => {
        const { generateKeyPair, exportJWK, CompactSign } = await import("jose");
        const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
        void exportJWK;
        const claims = JSON.stringify({ ...world.beacon, version: 9, mesh: "m", issuedAt: Date.now() });
        return new CompactSign(new TextEncoder().encode(claims))
          .setProtectedHeader({ alg: "EdDSA", kid: "attacker", typ: "isomesh-beacon+jws" })
          .sign(privateKey);
      },
      /signed by a key this data plane does not hold/,
    ],
  ])("refuses %s", async (_n, forge, error) => {
    await publish(1, JSON.stringify(snap(1, 1)));
    const source = make();
    await source.get(ctx);
    await poison(await forge());
    await source.check(false);
    expect(source.report("i")).toMatchObject({ version: 1, error: expect.stringMatching(error) });
  });

  it("does not read a huge cached value (any Worker may put one): refused past 64 KiB", async () => {
    await publish(1, JSON.stringify(snap(1, 1)));
    const source = make();
    await source.get(ctx);
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled++;
        c.enqueue(new Uint8Array(16 * 1024).fill(0x61));
      },
    });
    store.set(KEY.url, new Response(endless));
    await source.check(false);
    expect(source.report("i")).toMatchObject({ version: 1, error: expect.stringMatching(/not a signed beacon/) });
    expect(pulled).toBeLessThan(10);
  });

  it("refuses every beacon without BEACON_KEYS: it keeps its bootstrap and says why", async () => {
    await publish(1, JSON.stringify(snap(1, 1)));
    const bootstrap = JSON.stringify(snap(0, 5));
    const source = new SnapshotSource(
      { ...(env() as object), BEACON_KEYS: undefined } as never,
      (s) => s,
      () => {},
      undefined,
      bootstrap,
    );
    expect((await source.get(ctx)).snapshot.version).toBe(0);
    expect(source.report("i").error).toMatch(/no beacon keys \(BEACON_KEYS\)/);
  });

  it("installs nothing an app wrote to KV: a shard manifest that is not its hash's is read from the control plane", async () => {
    await publish(1, JSON.stringify(snap(1, 1)));
    const source = make();
    await source.get(ctx);
    await publish(2, JSON.stringify(snap(2, 0)));
    // An inline app holds the KV binding: it points the edge's shard at a snapshot of its own.
    const forged = JSON.stringify({
      ...snap(2, 0),
      defaultBackends: [{ service: "web", version: "v1", weight: 1 }],
      version: 99,
    });
    const forgedHash = await sha256Hex(forged);
    world.kv.set(snapshotKey(EDGE, forgedHash), forged);
    world.kv.set(shardKey(world.beacon.shards[shardOf(EDGE)]), JSON.stringify({ edges: { [EDGE]: forgedHash } }));
    await source.check(false);
    expect(source.snapshot?.version).toBe(2);
    expect(source.snapshot?.defaultBackends).toHaveLength(2);
    expect(source.report("i").error).toMatch(/KV holds another text under shard\//);
  });

  it("a snapshot KV holds under another text's hash is read from the control plane", async () => {
    await publish(1, JSON.stringify(snap(1, 1)));
    const source = make();
    await source.get(ctx);
    await publish(2, JSON.stringify(snap(2, 0)));
    world.kv.set(snapshotKey(EDGE, world.stored!.hash), JSON.stringify(snap(2, 7)));
    await source.check(false);
    expect(source.snapshot?.defaultBackends[1].weight).toBe(0);
    expect(source.report("i")).toMatchObject({
      version: 2,
      state: "synced",
      error: expect.stringMatching(/KV holds another text under snap\//),
    });
  });

  it("a manifest KV has not yet is read from the control plane (the snapshot it names now)", async () => {
    await publish(1, JSON.stringify(snap(1, 1)));
    const source = make();
    await source.get(ctx);
    await publish(2, JSON.stringify(snap(2, 0)));
    world.kv.delete(shardKey(world.beacon.shards[shardOf(EDGE)]));
    await source.check(false);
    expect(source.report("i")).toMatchObject({ version: 2, state: "synced" });
    expect(source.report("i").error).toBeUndefined();
  });
});
