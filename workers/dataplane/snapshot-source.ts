import type { EdgeReport } from "../../shared/control-api.ts";
import { ShardManifest, shardKey, shardOf, snapshotKey } from "../../shared/snapshot/distribution.ts";
import { sha256Hex } from "../../shared/snapshot/hash.ts";
import { boundedText } from "./bounded-text.ts";
import {
  MAX_BEACON_BYTES,
  type BeaconClaims,
  BeaconRefused,
  beaconKeySet,
  beaconVerifier,
  type BeaconVerifier,
} from "../../shared/snapshot/signature.ts";
import { Snapshot } from "../../shared/snapshot/schema.ts";
import { config } from "zod/mini";
import { en } from "zod/locales";
import type { EdgeEnv } from "./env.ts";

// zod/mini loads no messages: a rejected snapshot is reported with the same English ones the admin API uses.
config(en());

const BEACON_URL = "https://isomesh.internal/beacon/";
const CHECK_TIMEOUT_MS = 250;
/** How long a refused beacon (or a KV value that failed its hash) stays in this isolate's reports. */
const REFUSAL_REPORTED_MS = 60_000;

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
  /** Issue time of the newest beacon this isolate accepted: a cached one issued before it is behind. */
  private issuedAt = 0;
  private refusal?: { error: string; at: number };
  private verifier?: BeaconVerifier;
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
      // A refused beacon leaves the isolate synced (it read the control plane instead), but shows in status.
      error:
        this.rejection?.error ??
        (this.refusal && Date.now() - this.refusal.at < REFUSAL_REPORTED_MS ? this.refusal.error : undefined),
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
      // Never go back in time, even when the control plane says so (a store reset or restored):
      // an older cached beacon never gets here (readBeacon asks the control plane instead).
      if (beacon.version < this.version)
        return this.refuse(
          `the control plane serves version ${beacon.version}, older than the ${this.version} this isolate runs: kept ${this.version} (a reset control plane needs its data plane redeployed)`,
        );
      this.issuedAt = Math.max(this.issuedAt, beacon.issuedAt);
      if (!force && beacon.version === this.version) return;
      // Version 0 is a store that has never accepted a change: the bootstrap (compiled from the
      // manifest's defaults, about to be applied as version 1) is newer than its empty config.
      if (beacon.version === 0 && this.current) {
        this.version = 0;
        return;
      }
      const edge = this.env.EDGE_NAME;
      const shardHash = beacon.shards[shardOf(edge)];
      const manifest = shardHash ? await this.readManifest(shardHash) : { edges: {} };
      // KV has not the shard's manifest yet, or holds another text under its hash: ask the control plane.
      const direct = manifest ? undefined : await this.currentSnapshot(edge);
      const hash = manifest ? manifest.edges[edge] : direct?.hash;
      if (!hash) {
        // The store has never compiled this edge (empty config): bootstrap remains correct.
        this.version = beacon.version;
        return;
      }
      if (hash !== this.current?.hash) {
        const body = direct?.body ?? (await this.readSnapshotBody(edge, hash));
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

  /**
   * The beacon, verified. The location's cache is shared by every Worker on the zone, so a cached
   * beacon counts only when its signature holds and it is not behind what this isolate accepted;
   * otherwise (refused, a replay, a racing put) the control plane is asked, and its answer cached.
   */
  private async readBeacon(force: boolean): Promise<BeaconClaims> {
    const cache = caches.default;
    const key = new Request(BEACON_URL + encodeURIComponent(this.env.MESH_NAME));
    if (!force) {
      const hit = await cache.match(key);
      if (hit)
        try {
          const cached = await this.verify(await boundedText(hit, MAX_BEACON_BYTES));
          if (cached.version >= this.version && cached.issuedAt >= this.issuedAt) return cached;
        } catch (e) {
          if (!(e instanceof BeaconRefused)) throw e;
          this.refuse(`refused the cached beacon: ${e.message}`);
        }
    }
    const signed = await this.env.CONTROL.beacon();
    let beacon: BeaconClaims;
    try {
      beacon = await this.verify(signed);
    } catch (e) {
      if (e instanceof BeaconRefused) this.refuse(`refused the control plane's beacon: ${e.message}`);
      throw e;
    }
    // One read per location per second reaches the control plane, however many isolates ask.
    await cache.put(key, new Response(signed, { headers: { "cache-control": "max-age=1" } }));
    return beacon;
  }

  private verify(token: unknown): Promise<BeaconClaims> {
    this.verifier ??= beaconVerifier(beaconKeySet(this.env.BEACON_KEYS), this.env.MESH_NAME);
    return this.verifier(token, Date.now());
  }

  /** Keeps the last good config and says why in the isolate's reports and log (once a minute per reason). */
  private refuse(error: string): void {
    const now = Date.now();
    const repeated = this.refusal?.error === error && now - this.refusal.at < REFUSAL_REPORTED_MS;
    if (!repeated) {
      this.refusal = { error: error.slice(0, 500), at: now };
      console.warn(JSON.stringify({ level: "warn", edge: this.env.EDGE_NAME, msg: "beacon refused", error }));
      this.onChange();
    }
  }

  /** A shard manifest from KV, if KV holds it intact (its SHA-256 is the hash the signed beacon names). */
  private async readManifest(hash: string): Promise<ShardManifest | undefined> {
    const text = await this.env.SNAPSHOTS.get(shardKey(hash));
    if (text === null) return undefined;
    if ((await sha256Hex(text)) !== hash) {
      this.refuse(`KV holds another text under shard/${hash.slice(0, 12)}: read from the control plane`);
      return undefined;
    }
    return ShardManifest.parse(JSON.parse(text));
  }

  /** The snapshot the control plane has for `edge` now (undefined: it has none). */
  private async currentSnapshot(edge: string): Promise<{ hash: string; body: string } | undefined> {
    const body = await this.env.CONTROL.snapshot(edge, "");
    return body === null ? undefined : { hash: await sha256Hex(body), body };
  }

  private async readSnapshotBody(edge: string, hash: string): Promise<string> {
    const fromKv = await this.env.SNAPSHOTS.get(snapshotKey(edge, hash));
    if (fromKv !== null && (await sha256Hex(fromKv)) === hash) return fromKv;
    // Not in this location's KV yet (eventual consistency), or not intact: ask the control plane directly.
    const direct = await this.env.CONTROL.snapshot(edge, hash);
    if (direct !== null) {
      if (fromKv !== null)
        this.refuse(`KV holds another text under snap/${edge}/${hash.slice(0, 12)}: read from the control plane`);
      return direct;
    }
    if (fromKv !== null) return fromKv; // install() rejects it (checksum mismatch) and reports it
    throw new Error(`snapshot ${hash.slice(0, 12)} not found`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
