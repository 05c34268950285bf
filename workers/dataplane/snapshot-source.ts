import type { EdgeReport } from "../../shared/control-api.ts";
import { Beacon, ShardManifest, shardKey, shardOf, snapshotKey } from "../../shared/snapshot/distribution.ts";
import { sha256Hex } from "../../shared/snapshot/hash.ts";
import { Snapshot } from "../../shared/snapshot/schema.ts";
import { config } from "zod/mini";
import { en } from "zod/locales";
import type { EdgeEnv } from "./env.ts";

// zod/mini loads no messages: a rejected snapshot is reported with the same English ones the admin API uses.
config(en());

const BEACON_URL = "https://isomesh.internal/beacon/";
const CHECK_TIMEOUT_MS = 250;

/**
 * Holds this isolate's snapshot. Warm requests never wait: a snapshot older than the refresh
 * interval is re-checked in the background; only past MAX_STALE does a request wait, bounded,
 * for the check. Whatever fails (KV, control plane, a corrupt snapshot), the last good one stays.
 */
export class SnapshotSource<T> {
  private current?: { snapshot: Snapshot; hash: string; prepared: T };
  private version = -1;
  private checkedAt = 0;
  private inflight?: Promise<void>;
  private followUp?: Promise<void>;
  private rejection?: { hash: string; error: string };
  private readonly refreshMs: number;
  private readonly maxStaleMs: number;

  constructor(
    private readonly env: EdgeEnv,
    private readonly prepare: (s: Snapshot) => T,
    private readonly onChange: () => void,
    /** After a background check, in the request's waitUntil: lets a new version be reported at once. */
    private readonly afterCheck: (ctx: ExecutionContext) => void = () => {},
    /** The snapshot baked in at deploy (the edge's bootstrap module): what a cold isolate starts from. */
    private readonly bootstrap?: string,
  ) {
    this.refreshMs = Number(env.REFRESH_INTERVAL_MS ?? 1000);
    this.maxStaleMs = Number(env.MAX_STALE_MS ?? 10_000);
  }

  /** The warm path without a promise: the snapshot when no request has to wait for a check. */
  ready(ctx: ExecutionContext): { snapshot: Snapshot; prepared: T } | undefined {
    if (!this.current) return undefined;
    const age = Date.now() - this.checkedAt;
    if (age > this.maxStaleMs) return undefined;
    if (age > this.refreshMs) ctx.waitUntil(this.check(false).then(() => this.afterCheck(ctx)));
    return this.current;
  }

  async get(ctx: ExecutionContext): Promise<{ snapshot: Snapshot; prepared: T }> {
    const warm = this.ready(ctx);
    if (warm) return warm;
    if (!this.current) {
      await this.loadBootstrap();
      await this.check(false);
    } else await Promise.race([this.check(false), sleep(CHECK_TIMEOUT_MS)]); // past max-stale: wait, bounded
    if (!this.current) throw new Error("edge has no snapshot: no bootstrap and the control plane is unreachable");
    return this.current;
  }

  /** Re-checks the beacon (bypassing the cache when forced, as after a control-plane nudge). */
  check(force: boolean): Promise<void> {
    // A forced check must read the beacon itself: a check already under way (forced or not) may
    // have read it before the change that caused this nudge. One more check after it serves every
    // nudge that arrives meanwhile.
    if (force && this.inflight)
      return (this.followUp ??= this.inflight.then(() => {
        this.followUp = undefined;
        return this.check(true);
      }));
    this.inflight ??= this.doCheck(force).finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  report(isolate: string): EdgeReport {
    return {
      edge: this.env.EDGE_NAME,
      isolate,
      version: Math.max(this.version, this.current?.snapshot.version ?? 0),
      hash: this.current?.hash ?? "",
      state: this.rejection ? "rejected" : "synced",
      error: this.rejection?.error,
    };
  }

  get snapshot(): Snapshot | undefined {
    return this.current?.snapshot;
  }

  private async loadBootstrap(): Promise<void> {
    if (this.bootstrap) await this.install(this.bootstrap, await sha256Hex(this.bootstrap));
  }

  private async doCheck(force: boolean): Promise<void> {
    try {
      const beacon = await this.readBeacon(force);
      this.checkedAt = Date.now();
      // A cached beacon may be older than what this isolate runs (another isolate's read of the
      // control plane can land in the cache after a newer one): never go back to it.
      if (!force && beacon.version <= this.version) return;
      // Version 0 is a store that has never accepted a change: the bootstrap (compiled from the
      // manifest's defaults, about to be applied as version 1) is newer than its empty config.
      if (beacon.version === 0 && this.current) {
        this.version = 0;
        return;
      }
      const edge = this.env.EDGE_NAME;
      const shardHash = beacon.shards[shardOf(edge)];
      const manifest = shardHash ? ShardManifest.parse(await this.readKv(shardKey(shardHash), null)) : { edges: {} };
      const hash = manifest.edges[edge];
      if (!hash) {
        // The store has never compiled this edge (empty config): bootstrap remains correct.
        this.version = beacon.version;
        return;
      }
      if (hash !== this.current?.hash) {
        const body = await this.readSnapshotBody(edge, hash);
        if (!(await this.install(body, hash))) return;
      }
      this.version = beacon.version;
      this.onChange();
    } catch (e) {
      // Control plane or KV unreachable: keep serving the last good snapshot, retry on the next check.
      this.checkedAt = Date.now();
      console.warn(
        JSON.stringify({ level: "warn", edge: this.env.EDGE_NAME, msg: "snapshot check failed", error: String(e) }),
      );
    }
  }

  /** Validates (checksum, schema, edge) and swaps in a snapshot; a bad one is rejected and reported. */
  private async install(body: string, hash: string): Promise<boolean> {
    try {
      if ((await sha256Hex(body)) !== hash) throw new Error(`checksum mismatch for snapshot ${hash.slice(0, 12)}`);
      const parsed = Snapshot.safeParse(JSON.parse(body));
      if (!parsed.success)
        throw new Error(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
      const snapshot = parsed.data;
      if (snapshot.edge !== this.env.EDGE_NAME) throw new Error(`snapshot is for edge ${snapshot.edge}`);
      this.current = { snapshot, hash, prepared: this.prepare(snapshot) };
      this.rejection = undefined;
      return true;
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      this.rejection = { hash, error: error.slice(0, 500) };
      console.error(
        JSON.stringify({
          level: "error",
          edge: this.env.EDGE_NAME,
          msg: "snapshot rejected",
          hash,
          error: this.rejection.error,
        }),
      );
      this.onChange();
      return false;
    }
  }

  private async readBeacon(force: boolean): Promise<Beacon> {
    const cache = caches.default;
    const key = new Request(BEACON_URL + encodeURIComponent(this.env.MESH_NAME));
    if (!force) {
      const hit = await cache.match(key);
      if (hit) return Beacon.parse(await hit.json());
    }
    const beacon = Beacon.parse(await this.env.CONTROL.beacon());
    // One read per location per second reaches the control plane, however many isolates ask.
    await cache.put(key, new Response(JSON.stringify(beacon), { headers: { "cache-control": "max-age=1" } }));
    return beacon;
  }

  private async readSnapshotBody(edge: string, hash: string): Promise<string> {
    const fromKv = await this.env.SNAPSHOTS.get(snapshotKey(edge, hash));
    if (fromKv !== null) return fromKv;
    // Not in this location's KV yet (eventual consistency): ask the control plane directly.
    const direct = await this.env.CONTROL.snapshot(edge, hash);
    if (direct === null) throw new Error(`snapshot ${hash.slice(0, 12)} not found`);
    return direct;
  }

  private async readKv(key: string, fallback: unknown): Promise<unknown> {
    const text = await this.env.SNAPSHOTS.get(key);
    return text === null ? fallback : JSON.parse(text);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
