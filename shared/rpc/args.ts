// What the mesh reads of a Workers RPC call's arguments: a key for sticky sessions and rate limits,
// and whether they can be sent again (a retry). It never reads further than that: arguments are
// the app's data, passed on untouched.

const MAX_KEY = 512;

/**
 * The key `{ argument: N, field? }` names: a string, number, bigint or boolean argument (or a
 * top-level field of a plain-object argument), as text; anything else (a stream, a stub, a
 * function, a nested object) is no key, as an absent header is none.
 */
export function argumentKey(args: readonly unknown[] | undefined, index: number, field?: string): string | undefined {
  let v = args?.[index];
  if (field !== undefined)
    v = isPlainObject(v) && Object.hasOwn(v, field) ? (v as Record<string, unknown>)[field] : undefined;
  if (typeof v === "string") return v.length > MAX_KEY ? v.slice(0, MAX_KEY) : v;
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return String(v);
  return undefined;
}

const isPlainObject = (v: unknown): v is object =>
  typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/**
 * Whether the arguments can be sent to a second try: a stream (or a Request or Response, whose
 * body is one) is consumed by the first. Looks into arrays and plain objects a few levels down;
 * stubs and functions are references and can be passed again.
 */
export function replayable(args: readonly unknown[], depth = 3): boolean {
  for (const a of args) {
    if (a instanceof ReadableStream || a instanceof WritableStream || a instanceof Request || a instanceof Response)
      return false;
    if (depth > 0 && Array.isArray(a) && !replayable(a, depth - 1)) return false;
    if (depth > 0 && isPlainObject(a) && !replayable(Object.values(a), depth - 1)) return false;
  }
  return true;
}
