import { analyze } from "../../../shared/analyze/index.ts";
import type { Topology } from "../../../shared/manifest/topology.ts";
import type { ResourceIssue } from "../../../shared/resources/issues.ts";
import { type Document, type Parsed, validateDocuments } from "../../../shared/resources/parse.ts";
import { initialStatus } from "../../../shared/rollout/decide.ts";
import type { StoredResource } from "../../../shared/snapshot/compile.ts";
import { edgesFedBy, edgesOf } from "../../../shared/snapshot/scope.ts";
import { type Change, diffDocument } from "./changes.ts";

/** A stored resource: the document as the user wrote it, its parsed form, its age and (Rollouts) status. */
export type Entry = StoredResource & { doc: Document };
export type Entries = Map<string, Entry>;

export const idOf = (kind: string, name: string) => `${kind}/${name}`;

/** A stored document is one SQLite row (limited to 2 MB in a Durable Object): keep it well inside. */
export const MAX_STORED_DOCUMENT_BYTES = 1024 * 1024;

export type Plan =
  | { ok: true; changes: Change[]; entries: Entries; warnings: ResourceIssue[]; edges: Set<string> }
  | { ok: false; status: 409 | 422; errors: ResourceIssue[] };

/** The documents of the stored entries, by id, ready to be changed into the next config. */
export const documentsOf = (entries: Entries) => new Map([...entries].map(([id, e]) => [id, e.doc]));

/**
 * What turning the stored config `current` into `next` would do, decided without I/O: `If-Match`,
 * schema and whole-config checks, the changes, the next entries (a new or changed Rollout starts
 * over, an untouched one keeps its progress) and the edges whose snapshots it feeds.
 *
 * A reference that was broken before this change (the manifest lost what it named) does not block
 * it: it comes back as a warning, and only the resources this change touches must be sound.
 */
export function planChange(input: {
  topology: Topology;
  current: Entries;
  next: Map<string, Document>;
  version: number;
  ifMatch?: number;
  now: number;
}): Plan {
  const { topology, current, next, version, now } = input;
  if (input.ifMatch !== undefined && input.ifMatch !== version)
    return {
      ok: false,
      status: 409,
      errors: [
        { resource: "version", path: "If-Match", message: `config is at version ${version}, not ${input.ifMatch}` },
      ],
    };

  const changes: Change[] = [];
  for (const id of new Set([...current.keys(), ...next.keys()])) {
    const c = diffDocument(current.get(id)?.doc, next.get(id));
    if (c) changes.push(c);
  }
  const touched = new Set(changes.map((c) => idOf(c.kind, c.name)));
  const tooLarge = changes.flatMap((c) => {
    const bytes = c.after ? new TextEncoder().encode(JSON.stringify(c.after)).length : 0;
    return bytes > MAX_STORED_DOCUMENT_BYTES
      ? [
          {
            resource: idOf(c.kind, c.name),
            path: "",
            message: `resource is ${bytes} bytes; the store keeps resources up to ${MAX_STORED_DOCUMENT_BYTES} bytes`,
          },
        ]
      : [];
  });
  if (tooLarge.length) return { ok: false, status: 422, errors: tooLarge };

  const { parsed, errors: schemaErrors } = validateDocuments([...next.values()]);
  if (schemaErrors.length) return { ok: false, status: 422, errors: schemaErrors };
  const { errors: all, warnings } = analyze(
    topology,
    parsed.map((p) => p.resource),
  );
  const errors = all.filter((e) => touched.has(e.resource));
  if (errors.length) return { ok: false, status: 422, errors };
  const inherited = all
    .filter((e) => !touched.has(e.resource))
    .map((e) => ({ ...e, message: `${e.message} (stored before this change: fix or delete it)` }));

  const entries: Entries = new Map();
  for (const p of parsed) {
    const id = idOf(p.doc.kind, p.doc.metadata.name);
    const old = current.get(id);
    const status =
      p.resource.kind === "Rollout"
        ? touched.has(id) || !old?.status
          ? initialStatus(p.resource.spec, now)
          : old.status
        : undefined;
    entries.set(id, { doc: p.doc, resource: p.resource, createdAt: old?.createdAt ?? now, status });
  }
  return {
    ok: true,
    changes,
    entries,
    warnings: [...inherited, ...warnings],
    edges: affectedEdges(topology, changes, current, parsed),
  };
}

/** The edges a change feeds: those of each changed resource before and after, that the mesh has. */
function affectedEdges(topology: Topology, changes: Change[], current: Entries, parsed: Parsed[]): Set<string> {
  const known = new Set(edgesOf(topology));
  const after = new Map(parsed.map((p) => [idOf(p.doc.kind, p.doc.metadata.name), p.resource]));
  const edges = new Set<string>();
  for (const c of changes) {
    const id = idOf(c.kind, c.name);
    for (const r of [current.get(id)?.resource, after.get(id)])
      if (r) for (const e of edgesFedBy(r)) if (known.has(e)) edges.add(e);
  }
  return edges;
}

/** The checks an apply runs, plus mesh-wide ones, on the stored config with `docs` applied. */
export function analyzeWith(
  topology: Topology,
  current: Entries,
  docs: Document[],
): { errors: ResourceIssue[]; warnings: ResourceIssue[] } {
  const next = documentsOf(current);
  for (const d of docs) next.set(idOf(d.kind, d.metadata.name), d);
  const { parsed, errors } = validateDocuments([...next.values()]);
  if (errors.length) return { errors, warnings: [] };
  return analyze(
    topology,
    parsed.map((p) => p.resource),
    { full: true },
  );
}
