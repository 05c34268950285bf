import * as z from "zod/mini";

// The fields of a RequestAuthentication's JWT rule that compiled snapshots carry as they are
// (zod/mini: see route-match.ts). The resource adds the inline JWKS (a JSON string, parsed at
// compile) and the jwks-or-jwksUri rule.

const Name = z.string().check(z.minLength(1));

export const JwtRuleFields = z.strictObject({
  issuer: z.string().check(z.minLength(1), z.maxLength(512)),
  audiences: z._default(z.array(Name), []),
  jwksUri: z.optional(z.url().check(z.startsWith("https://", "jwksUri must be https"))),
  fromHeaders: z._default(z.array(z.strictObject({ name: Name, prefix: z._default(z.string(), "") })), []),
  fromParams: z._default(z.array(Name), []),
  forwardOriginalToken: z._default(z.boolean(), false),
  outputClaimToHeaders: z._default(
    z.array(
      z.strictObject({ header: z.string().check(z.regex(/^[A-Za-z0-9-]+$/, "invalid header name")), claim: Name }),
    ),
    [],
  ),
  /** Allowed clock difference for exp / nbf / iat, seconds (isomesh extension; Istio uses 60 s). */
  clockSkewSeconds: z._default(z.number().check(z.int(), z.gte(0), z.lte(600)), 60),
  /** Refuse tokens without `exp` (Envoy's require_expiration); off by default, as in Istio. */
  requireExpiration: z._default(z.boolean(), false),
});
