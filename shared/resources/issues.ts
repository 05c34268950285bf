import type { z } from "zod";
import { fieldsAt, unknownField } from "./unknown-fields.ts";

/** `spec.rules[0].matches[1].path` style rendering of a zod issue path. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

/** One problem with one resource, as the admin API reports it (422 `errors[]`, `warnings[]`). */
export type ResourceIssue = { resource: string; path: string; message: string };

export type FlatIssue = { path: PropertyKey[]; message: string; unknown?: { key: string; in: PropertyKey[] } };

/**
 * zod's issues for `input` as users read them: each unknown field its own issue at its own path,
 * with a did-you-mean from `schema`. A union that no option accepts because of a field none of
 * them knows reports that field (`hashOn: {hedaer: x}`), not "Invalid input".
 */
export function describeIssues(
  schema: z.core.$ZodType,
  input: unknown,
  issues: readonly z.core.$ZodIssue[],
): { path: string; message: string }[] {
  const flat = flattenIssues(issues, []).map((f) => {
    if (!f.unknown) return { path: formatPath(f.path), message: f.message };
    const { message, guess } = unknownField(f.unknown.key, fieldsAt(schema, f.unknown.in, input));
    const meant = guess === undefined ? undefined : [...f.unknown.in, guess];
    return {
      path: formatPath(f.path),
      message,
      missing: meant && valueAt(input, meant) === undefined ? formatPath(meant) : undefined,
    };
  });
  // "did you mean `percentage`?" already says why `percentage` is missing: one error, not two.
  const meant = new Set(flat.flatMap((f) => ("missing" in f && f.missing ? [f.missing] : [])));
  const seen = new Set<string>();
  const out: { path: string; message: string }[] = [];
  for (const { path, message } of flat) {
    if (meant.has(path) || seen.has(`${path}\n${message}`)) continue;
    seen.add(`${path}\n${message}`);
    out.push({ path, message });
  }
  return out;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const p of path) v = typeof v === "object" && v !== null ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

/** zod's issues one per problem: an unknown field each, unions resolved as describeIssues says. */
export function flattenIssues(issues: readonly z.core.$ZodIssue[], base: PropertyKey[]): FlatIssue[] {
  const out: FlatIssue[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys)
        out.push({ path: [...path, key], message: issue.message, unknown: { key, in: path } });
    } else if (issue.code === "invalid_union" && issue.errors.length) {
      const branches = issue.errors.map((b) => flattenIssues(b, path));
      const unknownIn = (b: FlatIssue[], f: FlatIssue) =>
        b.some((g) => g.unknown && formatPath(g.path) === formatPath(f.path));
      const everywhere = branches[0].filter((f) => f.unknown && branches.every((b) => unknownIn(b, f)));
      out.push(...(everywhere.length ? everywhere : [{ path, message: issue.message }]));
    } else out.push({ path, message: issue.message });
  }
  return out;
}
