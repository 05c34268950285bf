import { structuredPatch } from "diff";
import { stringify } from "yaml";
import { sameDocument } from "./canonical-json.ts";

export { sameDocument };

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);

/**
 * `value` with its keys in the order `like` has them (recursively; keys `like` lacks come last),
 * so a diff of two renderings shows what changed, not how each was written.
 */
export function alignKeys<T>(value: T, like: unknown): T {
  if (Array.isArray(value)) return value.map((v, i) => alignKeys(v, Array.isArray(like) ? like[i] : undefined)) as T;
  if (!isObject(value)) return value;
  const order = isObject(like) ? Object.keys(like).filter((k) => k in value) : [];
  const keys = [...order, ...Object.keys(value).filter((k) => !order.includes(k))];
  return Object.fromEntries(keys.map((k) => [k, alignKeys(value[k], isObject(like) ? like[k] : undefined)])) as T;
}

/** A resource as block YAML (what `kubectl diff` shows), without the server-written `status` unless asked. */
export function resourceYaml(doc: unknown, withStatus = false): string {
  if (doc === null || doc === undefined) return "";
  return stringify(withStatus ? doc : stripStatus(doc), { lineWidth: 0 });
}

/** One line of a unified diff, typed so a terminal or a page can colour it. */
export type DiffLine = { kind: "header" | "hunk" | "context" | "removed" | "added"; text: string };

/**
 * A unified diff (`diff -u -N`, as `kubectl diff` prints it) of one resource from `before` to
 * `after`; either may be null (added, removed). Empty when nothing differs. `status` is left out
 * (users never send it) unless `withStatus`, as history wants for a Rollout's progress.
 * @example unifiedDiff("HTTPRoute/reviews", live, fromFile, { from: "live", to: "file" })
 */
export function unifiedDiff(
  id: string,
  before: unknown,
  after: unknown,
  labels: { from: string; to: string },
  opts: { context?: number; withStatus?: boolean } = {},
): DiffLine[] {
  const strip = opts.withStatus ? (d: unknown) => d : stripStatus;
  if (before && after && sameDocument(strip(before), strip(after))) return [];
  const left = resourceYaml(after ? alignKeys(before, after) : before, opts.withStatus);
  const right = resourceYaml(after, opts.withStatus);
  const from = `${labels.from}/${id}`;
  const to = `${labels.to}/${id}`;
  const patch = structuredPatch(from, to, left, right, undefined, undefined, { context: opts.context ?? 3 });
  const lines: DiffLine[] = [
    { kind: "header", text: `diff -u -N ${from} ${to}` },
    { kind: "header", text: `--- ${before ? from : "/dev/null"}` },
    { kind: "header", text: `+++ ${after ? to : "/dev/null"}` },
  ];
  for (const h of patch.hunks) {
    // As diff(1): an empty side is "-0,0", not "-1,0".
    lines.push({
      kind: "hunk",
      text: `@@ -${h.oldLines ? h.oldStart : h.oldStart - 1},${h.oldLines} +${h.newLines ? h.newStart : h.newStart - 1},${h.newLines} @@`,
    });
    for (const l of h.lines) {
      if (l.startsWith("\\")) continue; // "\ No newline at end of file": YAML always ends with one
      lines.push({ kind: l[0] === "-" ? "removed" : l[0] === "+" ? "added" : "context", text: l });
    }
  }
  return lines;
}

function stripStatus(doc: unknown): unknown {
  if (!isObject(doc)) return doc;
  const { status: _status, ...rest } = doc;
  return rest;
}
