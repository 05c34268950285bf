import type { CompiledJwtRule as Rule } from "./authn.ts";

/** Every header some rule's outputClaimToHeaders writes (lower-case): the mesh's word, never the caller's. */
export const outputHeadersOf = (rules: Rule[]): string[] => [
  ...new Set(rules.flatMap((r) => r.outputClaimToHeaders.map((o) => o.header.toLowerCase()))),
];

/**
 * What each output header must be for this request: the claim's value when a verified identity
 * carries it, else nothing (the caller's copy is removed). `rules` are the rules that verified the
 * identity: the one whose token this hop checked, or, for claims the gateway verified, every rule
 * of this edge that names their issuer. Each header is decided before any stage reads headers.
 */
export function derivedHeaders(
  all: string[],
  rules: Rule[],
  claims: Record<string, unknown> | undefined,
): [string, string | undefined][] {
  const values = new Map<string, string | undefined>(all.map((h) => [h, undefined]));
  if (claims)
    for (const r of rules)
      for (const o of r.outputClaimToHeaders) {
        const v = claimHeaderValue(claims[o.claim]);
        if (v !== undefined) values.set(o.header.toLowerCase(), v);
      }
  return [...values];
}

/** Sets each output header on `headers` as derivedHeaders decides it, or removes it. */
export function applyDerivedHeaders(
  headers: Headers,
  all: string[],
  rules: Rule[],
  claims: Record<string, unknown> | undefined,
): void {
  for (const [name, value] of derivedHeaders(all, rules, claims))
    if (value === undefined) headers.delete(name);
    else headers.set(name, value);
}

/**
 * A claim as a header value: a printable-ASCII string as it is; anything else (objects, lists,
 * numbers, strings with control or non-ASCII characters) as JSON with \u escapes, so every
 * value fits in a header (a header cannot carry a line break or a character above 0xFF).
 */
export function claimHeaderValue(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string" && PRINTABLE.test(value)) return value;
  return JSON.stringify(value).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

const PRINTABLE = /^[\x20-\x7e]*$/;
