import * as z from "zod/mini";
import { HeaderName, Method } from "./route-match.ts";

// Gateway API HTTPRoute CORS filter (GEP-1767, HTTPCORSFilter), as users write it and compiled
// snapshots carry it (zod/mini: see route-match.ts). The edge answers it (shared/routing/cors.ts).

/**
 * An allowed origin: `*` alone, or `<scheme>://<host>[:<port>]` where the host may start with `*.`
 * (any number of labels to its left) or be `*` (any host). Gateway API's CORSOrigin pattern.
 */
const ORIGIN = /^(\*|https?:\/\/(\*|(\*\.)?([a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+)(:[0-9]{1,5})?)$/;
export const CorsOrigin = z.string().check(
  z.maxLength(253),
  z.regex(ORIGIN, "an origin is `*` or <http|https>://<host>[:<port>], the host optionally `*` or starting with `*.`"),
  z.refine((o) => {
    const port = /:([0-9]+)$/.exec(o)?.[1];
    return port === undefined || (Number(port) >= 1 && Number(port) <= 65535);
  }, "the port of an origin must be 1 to 65535"),
);

/** A list that is a set (listType=set), where `*` stands alone. */
const wildcardSet = <T extends z.core.$ZodType<string>>(item: T, max: number, what: string, fold = (s: string) => s) =>
  z.array(item).check(
    z.maxLength(max),
    z.superRefine((list: string[], ctx) => {
      const seen = new Set<string>();
      list.forEach((v, i) => {
        if (seen.has(fold(v)))
          ctx.issues.push({ code: "custom", input: v, path: [i], message: `${what} repeats ${v}` });
        seen.add(fold(v));
      });
      if (list.includes("*") && list.length > 1)
        ctx.issues.push({ code: "custom", input: list, message: `${what} cannot contain "*" alongside other values` });
    }),
  );

const lower = (s: string) => s.toLowerCase();

export const CorsPolicy = z
  .strictObject({
    allowOrigins: z._default(wildcardSet(CorsOrigin, 64, "allowOrigins", lower), []),
    allowMethods: z._default(wildcardSet(z.union([Method, z.literal("*")]), 9, "allowMethods"), []),
    allowHeaders: z._default(wildcardSet(HeaderName, 64, "allowHeaders", lower), []),
    exposeHeaders: z._default(wildcardSet(HeaderName, 64, "exposeHeaders", lower), []),
    allowCredentials: z._default(z.boolean(), false),
    /** Seconds a browser may cache a preflight's answer (Gateway API default 5). */
    maxAge: z._default(z.number().check(z.int(), z.gte(1), z.lte(2_147_483_647)), 5),
  })
  .check(
    z.superRefine((c, ctx) => {
      // Any site could make credentialed requests (the user's cookies) and read the answers: refused
      // here rather than reflected, as the issue asks (docs/traffic-management.md says so).
      if (c.allowCredentials && c.allowOrigins.includes("*"))
        ctx.issues.push({
          code: "custom",
          input: c.allowCredentials,
          path: ["allowCredentials"],
          message:
            'allowCredentials: true cannot be combined with allowOrigins ["*"]: any site could send requests with the user\'s credentials and read the answers; list the origins (https://*.example.com matches subdomains)',
        });
    }),
  );
export type CorsPolicy = z.infer<typeof CorsPolicy>;

export const CorsFilter = z.strictObject({ type: z.literal("CORS"), cors: CorsPolicy });
