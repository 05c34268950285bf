import { BEACON_SHARDS, type Beacon, type ShardManifest, shardOf } from "../../../shared/control-api.ts";
import type { Topology } from "../../../shared/manifest/topology.ts";
import { compileSnapshot, type StoredResource } from "../../../shared/snapshot/compile.ts";
import { sha256Hex } from "../../../shared/snapshot/hash.ts";

export type PublishedSnapshot = { edge: string; hash: string; contentHash: string; body: string; version: number };

/**
 * Recompiles the given edges and returns only those whose content changed. A snapshot keeps the
 * version at which its content last changed, so an unrelated change does not republish it.
 */
export async function recompile(
  topology: Topology,
  resources: StoredResource[],
  edges: Iterable<string>,
  version: number,
  previous: (edge: string) => { contentHash: string } | undefined,
): Promise<PublishedSnapshot[]> {
  const out: PublishedSnapshot[] = [];
  for (const edge of edges) {
    const snapshot = compileSnapshot(topology, edge, resources, version);
    const contentHash = await sha256Hex(JSON.stringify({ ...snapshot, version: 0 }));
    if (previous(edge)?.contentHash === contentHash) continue;
    const body = JSON.stringify(snapshot);
    out.push({ edge, hash: await sha256Hex(body), contentHash, body, version });
  }
  return out;
}

/** Builds the shard manifests touched by `changed` and the beacon that names every shard. */
export async function buildBeacon(
  version: number,
  hashes: Map<string, string>,
  changed: Iterable<string>,
  previous: Beacon | undefined,
): Promise<{ beacon: Beacon; manifests: { hash: string; body: string }[] }> {
  const shards = previous?.shards.slice() ?? new Array<string>(BEACON_SHARDS).fill("");
  const touched = new Set([...changed].map(shardOf));
  if (!previous) for (let i = 0; i < BEACON_SHARDS; i++) touched.add(i);
  const manifests: { hash: string; body: string }[] = [];
  for (const shard of touched) {
    const edges: ShardManifest["edges"] = {};
    for (const [edge, hash] of [...hashes].sort(([a], [b]) => a.localeCompare(b))) if (shardOf(edge) === shard) edges[edge] = hash;
    if (Object.keys(edges).length === 0) {
      shards[shard] = "";
      continue;
    }
    const body = JSON.stringify({ edges });
    const hash = await sha256Hex(body);
    shards[shard] = hash;
    manifests.push({ hash, body });
  }
  return { beacon: { version, shards }, manifests };
}
