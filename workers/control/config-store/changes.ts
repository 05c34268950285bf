import type { Document } from "../../../shared/resources/parse.ts";

export type ChangeOp = "added" | "changed" | "removed" | "unchanged";

/** One resource's change in one version; `fields` names the changed top-level spec paths. */
/** One resource's change in one version ("status": a server-side status change, e.g. a Rollout step). */
export type Change = { kind: string; name: string; op: Exclude<ChangeOp, "unchanged"> | "status"; fields?: string[]; before?: Document; after?: Document; note?: string };

const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, val) => (val && typeof val === "object" && !Array.isArray(val) ? Object.fromEntries(Object.entries(val).sort(([a], [b]) => a.localeCompare(b))) : val));

/** The change from `before` to `after` of one resource, or undefined when nothing differs. */
export function diffDocument(before: Document | undefined, after: Document | undefined): Change | undefined {
  const doc = (after ?? before)!;
  if (!before) return { kind: doc.kind, name: doc.metadata.name, op: "added", after };
  if (!after) return { kind: doc.kind, name: doc.metadata.name, op: "removed", before };
  if (canonical(before) === canonical(after)) return undefined;
  return { kind: doc.kind, name: doc.metadata.name, op: "changed", fields: changedPaths(before, after), before, after };
}

/** Dotted paths (two levels deep into spec and metadata) whose values differ. */
function changedPaths(a: Document, b: Document): string[] {
  const out: string[] = [];
  for (const top of ["metadata", "spec"] as const) {
    const x = (a[top] ?? {}) as Record<string, unknown>;
    const y = (b[top] ?? {}) as Record<string, unknown>;
    for (const key of new Set([...Object.keys(x), ...Object.keys(y)]))
      if (canonical(x[key]) !== canonical(y[key])) out.push(`${top}.${key}`);
  }
  return out;
}

/** A change as the API shows it: without the full documents unless asked. */
export const summarize = (c: Change) => ({ kind: c.kind, name: c.name, op: c.op, ...(c.fields ? { fields: c.fields } : {}) });
