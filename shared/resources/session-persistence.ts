import { z } from "zod";
import { Duration } from "../duration.ts";
import { INTERNAL_PREFIX } from "../headers.ts";

// Gateway API session persistence on an HTTPRoute rule (GEP-1619, the v1.1-v1.4 HTTPRouteRule field):
// the edge keeps a client on the backend it first picked (shared/routing/session.ts).

/** Browsers keep no cookie longer than 400 days (RFC 6265bis): a longer Permanent lifetime would be a promise not kept. */
const MAX_COOKIE_MS = 400 * 24 * 3_600_000;
/** Headers HTTP or the mesh already give a meaning: a session token cannot travel in them. */
const TAKEN = new Set([
  "authorization",
  "connection",
  "content-length",
  "content-type",
  "cookie",
  "host",
  "set-cookie",
]);

export const SessionPersistence = z
  .strictObject({
    /** The cookie's (or header's) name; by default one of the rule's own, so two rules never share a session. */
    sessionName: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "a session name is a cookie or header name (an HTTP token)")
      .optional(),
    absoluteTimeout: Duration.optional(),
    idleTimeout: Duration.optional(),
    type: z.enum(["Cookie", "Header"]).default("Cookie"),
    cookieConfig: z.strictObject({ lifetimeType: z.enum(["Permanent", "Session"]).default("Session") }).optional(),
  })
  .superRefine((s, ctx) => {
    for (const key of ["absoluteTimeout", "idleTimeout"] as const)
      if (s[key] === 0) ctx.addIssue({ code: "custom", path: [key], message: `${key} must be longer than 0` });
    const name = s.sessionName?.toLowerCase();
    if (name?.startsWith(INTERNAL_PREFIX))
      ctx.addIssue({ code: "custom", path: ["sessionName"], message: `${INTERNAL_PREFIX}* names are the mesh's own` });
    else if (s.type === "Header" && name && TAKEN.has(name))
      ctx.addIssue({ code: "custom", path: ["sessionName"], message: `the ${name} header already has a meaning` });
    if (s.type === "Header" && s.cookieConfig)
      ctx.addIssue({ code: "custom", path: ["cookieConfig"], message: "cookieConfig applies only to type: Cookie" });
    if (s.cookieConfig?.lifetimeType !== "Permanent") return;
    if (s.absoluteTimeout === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["absoluteTimeout"],
        message: "absoluteTimeout must be set when cookieConfig.lifetimeType is Permanent (it is the cookie's Max-Age)",
      });
    else if (s.absoluteTimeout > MAX_COOKIE_MS)
      ctx.addIssue({
        code: "custom",
        path: ["absoluteTimeout"],
        message:
          "absoluteTimeout of a Permanent cookie must be at most 400 days (9600h): browsers keep no cookie longer",
      });
  });
export type SessionPersistence = z.infer<typeof SessionPersistence>;
