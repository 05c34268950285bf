/**
 * How strictly request paths are normalized, with Istio's and Envoy's names
 * (meshConfig.pathNormalization; Envoy's merge_slashes and path_with_escaped_slashes_action).
 */
export type PathNormalization = {
  /** Merge runs of slashes: `/a//b` is `/a/b` (Istio MERGE_SLASHES). */
  mergeSlashes: boolean;
  /** `%2F` and `%5C`: kept encoded (upper-cased), decoded to `/`, or the request is refused with 400. */
  escapedSlashes: "keep" | "unescape" | "reject";
};

export const NORMALIZE_FLAGS = {
  invalid_path: "its path was refused (400): an encoded NUL, or an escaped slash the mesh rejects",
} as const;

export const BASE_NORMALIZATION: PathNormalization = { mergeSlashes: false, escapedSlashes: "keep" };

export type NormalizedPath = { ok: true; path: string } | { ok: false; reason: string };

const HEX = "0123456789ABCDEF";
const hexValue = (c: number) =>
  c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1;
// RFC 3986 §2.3: ALPHA / DIGIT / "-" / "." / "_" / "~"
const unreserved = (b: number) =>
  (b >= 65 && b <= 90) ||
  (b >= 97 && b <= 122) ||
  (b >= 48 && b <= 57) ||
  b === 45 ||
  b === 46 ||
  b === 95 ||
  b === 126;

/**
 * The path every decision and the backend see (RFC 3986 §6.2.2, as Istio's BASE): percent-encoded
 * unreserved characters decoded once (never twice), other escapes upper-cased, a `%` that starts
 * no escape escaped (`%25`), `\` read as `/`, dot segments removed; `%00` is always refused. Then, if asked, escaped slashes decoded or refused
 * and slashes merged. Idempotent: normalizing a normalized path changes nothing.
 */
export function normalizePath(path: string, o: PathNormalization = BASE_NORMALIZATION): NormalizedPath {
  // Fast path: nothing to decode, no backslash, no dot segment, no slash run to merge.
  if (
    path.indexOf("%") === -1 &&
    path.indexOf("\\") === -1 &&
    !DOT_SEGMENT.test(path) &&
    !(o.mergeSlashes && path.includes("//"))
  )
    return { ok: true, path };
  let out = "";
  for (let i = 0; i < path.length; i++) {
    const ch = path[i];
    if (ch === "\\") {
      out += "/";
      continue;
    }
    if (ch !== "%") {
      out += ch;
      continue;
    }
    const hi = hexValue(path.charCodeAt(i + 1));
    const lo = hexValue(path.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) {
      // A "%" that starts no escape is itself escaped: left bare, it could pair with decoded
      // characters into a new escape (`/%%36%31dmin` would become `/%61dmin`, `/admin` to an app).
      out += "%25";
      continue;
    }
    const b = hi * 16 + lo;
    i += 2;
    if (b === 0) return { ok: false, reason: "the path contains an encoded NUL (%00)" };
    if (unreserved(b)) out += String.fromCharCode(b);
    else if (b === 0x2f || b === 0x5c) {
      if (o.escapedSlashes === "reject")
        return {
          ok: false,
          reason: `the path contains an escaped slash (%${HEX[hi]}${HEX[lo]}), which this mesh refuses`,
        };
      out += o.escapedSlashes === "unescape" ? "/" : `%${HEX[hi]}${HEX[lo]}`;
    } else out += `%${HEX[hi]}${HEX[lo]}`;
  }
  out = removeDotSegments(out);
  if (o.mergeSlashes) out = out.replace(/\/{2,}/g, "/");
  return { ok: true, path: out };
}

/** The decision record of a path the mesh rewrote, the same at the edge and in a synthetic explanation. */
export const describeNormalized = (from: string, to: string) => ({
  stage: "normalize",
  decision: `path ${from} is ${to}`,
});

const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

/** RFC 3986 §5.2.4, for an absolute path: `.` segments vanish, `..` removes the segment before it (never above the root). */
export function removeDotSegments(path: string): string {
  if (!path.startsWith("/") || !DOT_SEGMENT.test(path)) return path;
  const input = path.split("/");
  const out: string[] = [];
  for (let i = 1; i < input.length; i++) {
    const seg = input[i];
    const last = i === input.length - 1;
    if (seg === ".") {
      if (last) out.push("");
    } else if (seg === "..") {
      if (out.length) out.pop();
      if (last) out.push("");
    } else out.push(seg);
  }
  return `/${out.join("/")}`;
}
