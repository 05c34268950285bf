import type { CST } from "yaml";
import type { ResourceIssue } from "./issues.ts";

/**
 * What the admin API accepts in one request (documented in docs/security.md). Sizes keep every
 * SQLite row well inside the 2 MB a Durable Object allows (a resource is one row, and one history
 * row per version; an edge's snapshot is one row), and leave room for several large resources in
 * one edge's snapshot. Kubernetes caps an object at 1.5 MiB for the same reason (etcd's limit).
 */
export const LIMITS = {
  /** Request body of /v1/apply, /v1/analyze, /v1/explain, /v1/rollback (refused while it streams). */
  bodyBytes: 2 * 1024 * 1024,
  documents: 1000,
  /** Nesting of maps and lists, counting the document itself (the kinds need about 10). */
  depth: 32,
  /** YAML alias expansion (the yaml library's maxAliasCount): what a billion-laughs bomb exceeds. */
  aliases: 100,
  /** One resource as stored (JSON). */
  resourceBytes: 256 * 1024,
  /** One edge's compiled snapshot (a row, and a KV value every isolate of that edge reads). */
  snapshotBytes: 1024 * 1024,
} as const;

const kib = (n: number) => `${Math.round(n / 1024)} KiB`;
const issue = (message: string, resource = "(body)"): ResourceIssue => ({ resource, path: "", message });

export const bodyTooLarge = (bytes?: number): ResourceIssue =>
  issue(
    `request body ${bytes !== undefined ? `of ${bytes} bytes ` : ""}is over the body size limit of ${LIMITS.bodyBytes} bytes (${kib(LIMITS.bodyBytes)})`,
  );
export const tooManyDocuments = (): ResourceIssue =>
  issue(`more than ${LIMITS.documents} documents in one request (the documents limit)`);
export const nestedTooDeep = (where = "(body)"): ResourceIssue =>
  issue(`nested deeper than ${LIMITS.depth} levels (the depth limit)`, where);
export const tooManyAliases = (where: string): ResourceIssue =>
  issue(`YAML aliases expand beyond ${LIMITS.aliases} nodes (the aliases limit)`, where);

/**
 * A linear scan of a body before any parser sees it: the deepest flow nesting (`[`, `{` outside
 * quoted strings and comments) and the most block indicators (`- `, `? `, `: `) opening one line.
 * Either beyond the depth limit is refused here, because parsers spend stack or memory per level
 * (a 2 MiB run of `[` exhausts the YAML parser's heap). The exact depth is checked after parsing.
 */
export function exceedsNestingLimit(text: string, limit: number = LIMITS.depth): boolean {
  let flow = 0;
  let lineStart = true;
  let compact = 0;
  let prev = "\n"; // last non-blank character, to tell a quoted scalar from an apostrophe in plain text
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\n") {
      lineStart = true;
      compact = 0;
      prev = "\n";
      continue;
    }
    if (c === " " || c === "\t" || c === "\r") continue;
    if (lineStart && (c === "-" || c === "?" || c === ":") && (text[i + 1] === " " || text[i + 1] === "\t")) {
      if (++compact > limit) return true;
      prev = c;
      continue;
    }
    lineStart = false;
    if (c === "#" && (i === 0 || /\s/.test(text[i - 1]))) {
      while (i + 1 < text.length && text[i + 1] !== "\n") i++;
      continue;
    }
    if ((c === '"' || c === "'") && "\n:,[{-?".includes(prev)) {
      i = endOfQuoted(text, i);
      prev = c;
      continue;
    }
    if (c === "[" || c === "{") {
      if (++flow > limit) return true;
    } else if ((c === "]" || c === "}") && flow > 0) flow--;
    prev = c;
  }
  return false;
}

/** Index of the closing quote of the string opening at `start` (YAML: '' escapes a single quote; JSON/YAML: \" in double quotes). */
function endOfQuoted(text: string, start: number): number {
  const q = text[start];
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (q === '"' && c === "\\") i++;
    else if (c === q) {
      if (q === "'" && text[i + 1] === "'") i++;
      else return i;
    }
  }
  return text.length;
}

/** The nesting depth of one parsed YAML document (CST), counted without recursion. */
export function cstDepth(doc: CST.Document): number {
  let max = 0;
  const stack: [CST.Token, number][] = doc.value ? [[doc.value, 1]] : [];
  while (stack.length) {
    const [token, depth] = stack.pop()!;
    if (depth > max) max = depth;
    if (token.type === "block-map" || token.type === "block-seq" || token.type === "flow-collection")
      for (const item of token.items) {
        if ("key" in item && item.key) stack.push([item.key, depth + 1]);
        if ("value" in item && item.value) stack.push([item.value, depth + 1]);
      }
  }
  return max;
}

/** Documents too large to store, each named (413, checked before validation: nothing is stored). */
export function oversizedResources(docs: unknown[]): ResourceIssue[] {
  return docs.flatMap((d, i) => {
    const bytes = new TextEncoder().encode(JSON.stringify(d) ?? "").length;
    if (bytes <= LIMITS.resourceBytes) return [];
    const o = (d ?? {}) as { kind?: unknown; metadata?: { name?: unknown } };
    const label =
      typeof o.kind === "string" && typeof o.metadata?.name === "string"
        ? `${o.kind}/${o.metadata.name}`
        : `(document ${i + 1})`;
    return [
      issue(
        `resource size ${bytes} bytes is over the limit of ${LIMITS.resourceBytes} bytes (${kib(LIMITS.resourceBytes)}) per resource`,
        label,
      ),
    ];
  });
}
