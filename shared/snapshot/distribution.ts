import * as z from "zod/mini";
import { hashUnit } from "../routing/split.ts";

// How snapshots reach edges (DESIGN §2): what the control plane publishes and every edge reads.
// zod/mini, like the snapshot schema: edges parse the beacon and shard manifests too.

/** Fixed number of beacon shards: the beacon's size never grows with the mesh. */
export const BEACON_SHARDS = 64;

/**
 * The version beacon: the config version and one content hash per shard of edges. Each shard hash
 * names an immutable KV manifest (`shard/<hash>`) mapping its edges to their snapshot hashes.
 */
export const Beacon = z.object({
  version: z.number().check(z.int(), z.gte(0)),
  shards: z.array(z.string()).check(z.length(BEACON_SHARDS)),
});
export type Beacon = z.infer<typeof Beacon>;

/** The shard of the beacon an edge reads: a fixed function of its name. */
export const shardOf = (edge: string) => Math.floor(hashUnit(edge) * BEACON_SHARDS);

export const ShardManifest = z.object({ edges: z.record(z.string(), z.string()) });
export type ShardManifest = z.infer<typeof ShardManifest>;

export const snapshotKey = (edge: string, hash: string) => `snap/${edge}/${hash}`;
export const shardKey = (hash: string) => `shard/${hash}`;
