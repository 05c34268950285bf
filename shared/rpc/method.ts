// Names of Workers RPC methods as the mesh writes them in resources, metrics and logs.
//
// A call is (entrypoint, method): `env.RATINGS.getRating(1)` calls `getRating` on the default
// entrypoint; a binding with `entrypoint: "Admin"` calls methods of the named export `Admin`.
// Its full name is `getRating` for the default entrypoint and `Admin.reset` for a named one
// (a JS identifier has no ".", so the name is unambiguous), as Istio writes a gRPC method as the
// path `/package.Service/Method`.

/** The default export's entrypoint name, as wrangler's `entrypoint:` and workerd call it. */
export const DEFAULT_ENTRYPOINT = "default";

/** A JS identifier (what an export or a method of a class can be called over RPC). */
export const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
export const MAX_METHOD_NAME = 128;

/**
 * The handlers workerd looks up on every entrypoint instance besides `fetch` (an entrypoint that
 * answered them would claim the handler: see test/workers/rpc-runtime.test.ts).
 */
export const ENTRYPOINT_HANDLERS = [
  "connect",
  "tail",
  "trace",
  "tailStream",
  "scheduled",
  "alarm",
  "test",
  "queue",
  "email",
  "webSocketMessage",
  "webSocketClose",
  "webSocketError",
  "self",
] as const;

/**
 * Names no call may forward: `fetch` and the other handlers, and the names every object has.
 * workerd never sends these as RPC calls to a service binding.
 */
export const RESERVED_METHODS: ReadonlySet<string> = new Set([
  "fetch",
  ...ENTRYPOINT_HANDLERS,
  "constructor",
  "then",
  "dup",
  "toJSON",
  "__proto__",
]);

/** Whether a name can be an RPC method a caller reaches through the mesh. */
export const isRpcMethodName = (name: string) =>
  name.length <= MAX_METHOD_NAME && IDENTIFIER.test(name) && !RESERVED_METHODS.has(name);

/** `getRating` on the default entrypoint, `Admin.reset` on a named one. */
export const fullMethodName = (entrypoint: string | undefined, method: string) =>
  entrypoint === undefined || entrypoint === DEFAULT_ENTRYPOINT ? method : `${entrypoint}.${method}`;

/** The other way: `Admin.reset` → { entrypoint: "Admin", method: "reset" }. */
export function parseMethodName(full: string): { entrypoint: string; method: string } {
  const dot = full.indexOf(".");
  return dot === -1
    ? { entrypoint: DEFAULT_ENTRYPOINT, method: full }
    : { entrypoint: full.slice(0, dot), method: full.slice(dot + 1) };
}

const PART = /^[A-Za-z0-9_$]+$/;
/**
 * Whether a policy value names RPC methods: `method` or `Entrypoint.method`, with Istio's one
 * leading or trailing `*` standing for the rest (`get*`, `*Rating`, `Admin.*`, `*.reset`, `*`).
 */
export function isRpcMethodPattern(v: string): boolean {
  if (v === "*") return true;
  const prefix = v.endsWith("*");
  const suffix = !prefix && v.startsWith("*");
  const body = prefix ? v.slice(0, -1) : suffix ? v.slice(1) : v;
  if (body.includes("*")) return false;
  const parts = body.split(".");
  if (parts.length > 2) return false;
  // An empty part is only allowed where the `*` stands for it: `Admin.*`, `*.reset`.
  return parts.every(
    (p, i) => PART.test(p) || (p === "" && parts.length === 2 && ((prefix && i === 1) || (suffix && i === 0))),
  );
}
