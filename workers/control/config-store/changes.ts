import { sameDocument } from "../../../shared/resources/canonical-json.ts";
import type { Document } from "../../../shared/resources/parse.ts";
import type { RolloutStatus } from "../../../shared/resources/rollout.ts";

/**
 * One resource's change in one version. `weights`: a Rollout moved the split edges run (a change
 * of its status, not of its spec; `status` holds both sides). `status` rows are older versions'
 * Rollout progress, from before progress stopped being a version.
 */
export type Change = {
  kind: string;
  name: string;
  op: "added" | "changed" | "removed" | "weights" | "status";
  /** The changed top-level paths of metadata and spec (`spec.rules`), or `status.weight`. */
  fields?: string[];
  before?: Document;
  after?: Document;
  note?: string;
  status?: { before: RolloutStatus; after: RolloutStatus };
};

/** What a change does to the resources themselves (the others change what is derived from them). */
export const changesDocument = (op: Change["op"]) => op === "added" || op === "changed" || op === "removed";

/** The change from `before` to `after` of one resource, or undefined when nothing differs. */
export function diffDocument(before: Document | undefined, after: Document | undefined): Change | undefined {
  const doc = (after ?? before)!;
  if (!before) return { kind: doc.kind, name: doc.metadata.name, op: "added", after };
  if (!after) return { kind: doc.kind, name: doc.metadata.name, op: "removed", before };
  if (sameDocument(before, after)) return undefined;
  return { kind: doc.kind, name: doc.metadata.name, op: "changed", fields: changedPaths(before, after), before, after };
}

/** Dotted paths (two levels deep into spec and metadata) whose values differ. */
function changedPaths(a: Document, b: Document): string[] {
  const out: string[] = [];
  for (const top of ["metadata", "spec"] as const) {
    const x = (a[top] ?? {}) as Record<string, unknown>;
    const y = (b[top] ?? {}) as Record<string, unknown>;
    for (const key of new Set([...Object.keys(x), ...Object.keys(y)]))
      if (!sameDocument(x[key], y[key])) out.push(`${top}.${key}`);
  }
  return out;
}

export type ChangeSummary = { kind: string; name: string; op: Change["op"]; fields?: string[]; note?: string };

/** A change as the API lists it: without the documents. */
export const summarize = (c: Change): ChangeSummary => ({
  kind: c.kind,
  name: c.name,
  op: c.op,
  ...(c.fields ? { fields: c.fields } : {}),
  ...(c.note ? { note: c.note } : {}),
});
