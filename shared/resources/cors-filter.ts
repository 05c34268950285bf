import * as z from "zod/mini";
import { HeaderName, Method } from "./route-match.ts";

// Gateway API HTTPRoute CORS filter (GEP-1767, HTTPCORSFilter), as users write it and compiled
// snapshots carry it (zod/mini: see route-match.ts). The edge answers it (shared/routing/cors.ts).
// The rules across fields are checked at apply (corsIssues, from http-route.ts), so the edge's
// bundle carries only the shape.

/**
 * An allowed origin: `*` alone, or `<scheme>://<host>[:<port>]` where the host may start with `*.`
 * (any number of labels to its left) or be `*` (any host). Gateway API's CORSOrigin pattern.
 */
const ORIGIN = /^(\*|https?:\/\/(\*|(\*\.)?([a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+)(:[0-9]{1,5})?)$/;
export const CorsOrigin = z
  .string()
  .check(
    z.maxLength(253),
    z.regex(
      ORIGIN,
      "an origin is `*` or <http|https>://<host>[:<port>], the host optionally `*` or starting with `*.`",
    ),
  );

export const CorsPolicy = z.strictObject({
  allowOrigins: z._default(z.array(CorsOrigin).check(z.maxLength(64)), []),
  allowMethods: z._default(z.array(z.union([Method, z.literal("*")])).check(z.maxLength(9)), []),
  allowHeaders: z._default(z.array(HeaderName).check(z.maxLength(64)), []),
  exposeHeaders: z._default(z.array(HeaderName).check(z.maxLength(64)), []),
  allowCredentials: z._default(z.boolean(), false),
  /** Seconds a browser may cache a preflight's answer (Gateway API default 5). */
  maxAge: z._default(z.number().check(z.int(), z.gte(1), z.lte(2_147_483_647)), 5),
});
export type CorsPolicy = z.infer<typeof CorsPolicy>;

export const CorsFilter = z.strictObject({ type: z.literal("CORS"), cors: CorsPolicy });

type Issue = { path: (string | number)[]; message: string };

/**
 * Gateway API's rules across a CORS filter's fields (its lists are sets, `*` stands alone, a port
 * is 1 to 65535) and isomesh's own: credentials never with every origin. Paths are the filter's.
 */
export function corsIssues(c: CorsPolicy): Issue[] {
  const issues: Issue[] = [];
  const lists = { allowOrigins: true, allowMethods: false, allowHeaders: true, exposeHeaders: true } as const;
  for (const [key, caseless] of Object.entries(lists) as [keyof typeof lists, boolean][]) {
    const list: string[] = c[key];
    const seen = new Set<string>();
    list.forEach((v, i) => {
      const folded = caseless ? v.toLowerCase() : v;
      if (seen.has(folded)) issues.push({ path: ["cors", key, i], message: `${key} repeats ${v}` });
      seen.add(folded);
    });
    if (list.includes("*") && list.length > 1)
      issues.push({ path: ["cors", key], message: `${key} cannot contain "*" alongside other values` });
  }
  c.allowOrigins.forEach((o, i) => {
    const port = /:([0-9]+)$/.exec(o)?.[1];
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535))
      issues.push({ path: ["cors", "allowOrigins", i], message: "the port of an origin must be 1 to 65535" });
  });
  // Any site could make requests with the user's cookies and read the answers: refused rather than
  // reflected (docs/traffic.md#cors says why this departs from Gateway API).
  if (c.allowCredentials && c.allowOrigins.includes("*"))
    issues.push({
      path: ["cors", "allowCredentials"],
      message:
        'allowCredentials: true cannot be combined with allowOrigins ["*"]: any site could send requests with the user\'s credentials and read the answers; list the origins (https://*.example.com matches subdomains)',
    });
  return issues;
}
