import type { EdgeReport } from "../../../shared/control-api.ts";
import {
  BEACON_SHARDS,
  type Beacon,
  type ShardManifest,
  shardKey,
  shardOf,
  snapshotKey,
} from "../../../shared/snapshot/distribution.ts";
import type { Topology } from "../../../shared/manifest/topology.ts";
import { edgeBinding, GATEWAY } from "../../../shared/names.ts";
import { holderCaller, reportAllowed, reportScope } from "../report-scope.ts";
import { compileSnapshot, type StoredResource } from "../../../shared/snapshot/compile.ts";
import { sha256Hex } from "../../../shared/snapshot/hash.ts";
import type { ResourceIssue } from "../../../shared/resources/issues.ts";

export type PublishedSnapshot = { edge: string; hash: string; contentHash: string; body: string; version: number };

/** A change would compile an edge's snapshot over the size limit: refused before anything is written. */
export class SnapshotTooLarge extends Error {
  constructor(readonly issues: ResourceIssue[]) {
    super(issues.map((i) => i.message).join("; "));
  }
}

/** What a publication leaves to commit: the snapshots that changed, the edges dropped, the new beacon. */
export type Publication = { snapshots: PublishedSnapshot[]; removedEdges: string[]; beacon: Beacon; edges: string[] };

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
    for (const [edge, hash] of [...hashes].sort(([a], [b]) => a.localeCompare(b)))
      if (shardOf(edge) === shard) edges[edge] = hash;
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

/**
 * Compiles `edges`, writes the snapshots whose content changed and the shard manifests that point
 * at them to KV, and returns what the caller commits. KV keys are content-addressed and immutable:
 * written before the commit, harmless if the commit never happens. `removed` edges (gone from the
 * manifest) leave the beacon.
 */
export async function publish(input: {
  kv: Pick<KVNamespace, "put">;
  topology: Topology;
  resources: StoredResource[];
  edges: Iterable<string>;
  version: number;
  previous: Map<string, { hash: string; content_hash: string }>;
  previousBeacon: Beacon | undefined;
  removed?: string[];
  /** Refuse (SnapshotTooLarge) a snapshot body over this many bytes: a row and a KV value every isolate of the edge reads. */
  maxSnapshotBytes?: number;
}): Promise<Publication> {
  const { kv, previous } = input;
  const removedEdges = input.removed ?? [];
  const snapshots = await recompile(input.topology, input.resources, input.edges, input.version, (e) => {
    const p = previous.get(e);
    return p && { contentHash: p.content_hash };
  });
  const max = input.maxSnapshotBytes;
  const oversized = max === undefined ? [] : snapshots.filter((s) => s.body.length > max);
  if (oversized.length)
    throw new SnapshotTooLarge(
      oversized.map((s) => ({
        resource: `(snapshot ${s.edge})`,
        path: "",
        message: `the snapshot of edge ${s.edge} would be ${s.body.length} bytes, over the limit of ${max} bytes: attach less config to it`,
      })),
    );
  const hashes = new Map([...previous].filter(([e]) => !removedEdges.includes(e)).map(([e, r]) => [e, r.hash]));
  for (const s of snapshots) hashes.set(s.edge, s.hash);
  const { beacon, manifests } = await buildBeacon(
    input.version,
    hashes,
    [...snapshots.map((s) => s.edge), ...removedEdges],
    input.previousBeacon,
  );
  await Promise.all([
    ...snapshots.map((s) => kv.put(snapshotKey(s.edge, s.hash), s.body)),
    ...manifests.map((m) => kv.put(shardKey(m.hash), m.body)),
  ]);
  return { snapshots, removedEdges, beacon, edges: snapshots.map((s) => s.edge) };
}

/**
 * Tells the edges the control plane can reach to re-read the beacon now instead of at their next
 * check: each answers with what it then runs. Edges it has no binding to are left to their own checks.
 */
export function nudgeEdges(
  env: Record<string, unknown>,
  topology: Topology,
  edges: string[],
): Map<string, Promise<EdgeReport | EdgeReport[]>> {
  const answers = new Map<string, Promise<EdgeReport | EdgeReport[]>>();
  // An inline service's snapshot is held by its apps, its callers' apps and the gateway (gen's INLINE_HOLDERS):
  // each is nudged once, and answers for every snapshot it holds.
  const holders = inlineHolders(env.INLINE_HOLDERS);
  const nudged = new Map<string, Promise<EdgeReport[]>>();
  const nudge = (b: string) => {
    let answer = nudged.get(b);
    if (!answer) {
      const binding = env[b] as { refreshInline?: () => Promise<EdgeReport[]> } | undefined;
      // An app's Worker answers from the app's own isolate: only what its binding's holder may report counts.
      const caller = holderCaller(topology, b, edgeBinding(GATEWAY));
      const scope = caller && reportScope(topology, caller);
      answer =
        typeof binding?.refreshInline === "function" && scope
          ? binding.refreshInline().then((reports) => reports.filter((r) => reportAllowed(scope, r)))
          : Promise.resolve([]);
      nudged.set(b, answer);
    }
    return answer;
  };
  for (const edge of edges) {
    const held = holders[edge];
    if (held) {
      answers.set(
        edge,
        Promise.all(held.map(nudge)).then((r) => r.flat()),
      );
      continue;
    }
    const binding = env[edgeBinding(edge)] as { refresh?: () => Promise<EdgeReport> } | undefined;
    if (typeof binding?.refresh === "function") answers.set(edge, binding.refresh());
  }
  return answers;
}

let parsedHolders: { text: unknown; value: Record<string, string[]> } | undefined;
function inlineHolders(text: unknown): Record<string, string[]> {
  if (typeof text !== "string") return {};
  if (parsedHolders?.text !== text) parsedHolders = { text, value: JSON.parse(text) as Record<string, string[]> };
  return parsedHolders.value;
}
