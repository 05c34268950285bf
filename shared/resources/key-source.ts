import * as z from "zod/mini";

// Part of a TrafficPolicy that compiled snapshots carry too (zod/mini: see route-match.ts).

const Name = z.string().check(z.minLength(1));

/** Where a key comes from: a header, a cookie, a JWT claim, the caller, the client IP or the request's host. */
export const KeySource = z.union([
  z.strictObject({ header: Name }),
  z.strictObject({ cookie: Name }),
  z.strictObject({ claim: Name }),
  z.strictObject({ caller: z.literal(true) }),
  z.strictObject({ clientIp: z.literal(true) }),
  /** The request's host: per virtual host at the gateway, per external host at the egress edge. */
  z.strictObject({ host: z.literal(true) }),
  /**
   * Workers RPC: an argument of the call (`getRating(userId)`: `{ argument: 0 }`), or a top-level
   * field of an object argument (`{ argument: 0, field: user }`); only strings, numbers, bigints
   * and booleans are keys (a stream, stub or function is none).
   */
  z.strictObject({
    argument: z.number().check(z.int(), z.minimum(0), z.maximum(15)),
    field: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  }),
]);
export type KeySource = z.infer<typeof KeySource>;
