/** `spec.rules[0].matches[1].path` style rendering of a zod issue path. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

/** One problem with one resource, as the admin API reports it (422 `errors[]`, `warnings[]`). */
export type ResourceIssue = { resource: string; path: string; message: string };
