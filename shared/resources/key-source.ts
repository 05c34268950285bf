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
]);
export type KeySource = z.infer<typeof KeySource>;
