import { KINDS, resolveKind } from "./index.ts";
import { flattenIssues, formatPath } from "./issues.ts";
import type { Document } from "./parse.ts";

// What releases before strict validation accepted and ignored: unknown fields, a namespace other
// than default, a reference's group, a backendRef's kind (routed as a Service whatever it said).
const IGNORED_BEFORE = /^metadata\.namespace$|Refs?(\[\d+\])?\.group$|backendRefs?(\[\d+\])?\.kind$/;

/**
 * A document as stored by an earlier isomesh: the fields that release ignored are dropped (as
 * Kubernetes prunes unknown fields of stored objects), so a mesh runs the same config after an
 * upgrade. Nothing that was enforced is dropped: a document still invalid then stays invalid.
 */
export function pruneStoredDocument(stored: Document): { doc: Document; pruned: string[] } {
  const kind = resolveKind(stored.kind);
  if (!kind) return { doc: stored, pruned: [] };
  const doc = structuredClone(stored) as Document & Record<string, unknown>;
  const pruned: string[] = [];
  // Each pass can reveal fields of a union option that only matched once others were gone.
  for (let pass = 0; pass < 8; pass++) {
    const result = KINDS[kind].safeParse(doc);
    if (result.success) break;
    const drop = flattenIssues(result.error.issues, []).filter(
      (f) => f.unknown || IGNORED_BEFORE.test(formatPath(f.path)),
    );
    if (!drop.length) break;
    for (const f of drop) {
      const parent = f.path
        .slice(0, -1)
        .reduce<unknown>(
          (v, k) => (v && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined),
          doc,
        );
      if (parent && typeof parent === "object") delete (parent as Record<PropertyKey, unknown>)[f.path.at(-1)!];
      pruned.push(formatPath(f.path));
    }
  }
  return { doc, pruned };
}
