import * as z from "zod/mini";
import { JwtRuleFields } from "../resources/jwt-rule.ts";
import type { JwtRule, RequestAuthentication } from "../resources/request-authentication.ts";

// RequestAuthentication (Istio semantics): how its JWT rules compile for an edge, where a token is
// looked for, and what an identity makes of the claim-derived headers. The verifier itself is the
// engine in jwt.ts; identity from the gateway is decoded in identity-headers.ts.

/** A JWT rule as the verifier takes it: the resource's fields, the inline JWKS parsed, and the policy it came from. */
export const CompiledJwtRule = z.object({
  ...JwtRuleFields.shape,
  policy: z.string(),
  jwks: z.optional(z.array(z.record(z.string(), z.unknown()))),
});
export type CompiledJwtRule = z.infer<typeof CompiledJwtRule>;

/** JWT rules of the RequestAuthentications attached to an edge. */
export const CompiledAuthn = z.object({ rules: z.array(CompiledJwtRule) });
export type CompiledAuthn = z.infer<typeof CompiledAuthn>;

/** The flags authentication sets: a token that failed verification (401), identity from the gateway that cannot be read (403). */
export const AUTHN_FLAGS = {
  authn_failed: "its JWT failed verification (401)",
  identity_invalid: "the identity the gateway sent could not be read (403)",
} as const;

/** The RequestAuthentications attached to an edge, oldest first. */
export function compileAuthn(list: RequestAuthentication[]): CompiledAuthn | undefined {
  if (list.length === 0) return undefined;
  return { rules: list.flatMap((ra) => ra.spec.jwtRules.map((r) => compileJwtRule(ra.metadata.name, r))) };
}

type JwtRuleInput = Pick<JwtRule, "issuer" | "audiences" | "jwks" | "jwksUri" | "clockSkewSeconds"> &
  Partial<
    Pick<JwtRule, "fromHeaders" | "fromParams" | "forwardOriginalToken" | "outputClaimToHeaders" | "requireExpiration">
  >;

/** A JWT rule as the verifier takes it (inline JWKS parsed): a RequestAuthentication's, or the admin API's OIDC rule. */
export function compileJwtRule(policy: string, r: JwtRuleInput): CompiledJwtRule {
  return {
    policy,
    issuer: r.issuer,
    audiences: r.audiences,
    jwks: r.jwks ? (JSON.parse(r.jwks) as { keys: Record<string, unknown>[] }).keys : undefined,
    jwksUri: r.jwksUri,
    fromHeaders: r.fromHeaders ?? [],
    fromParams: r.fromParams ?? [],
    forwardOriginalToken: r.forwardOriginalToken ?? false,
    outputClaimToHeaders: r.outputClaimToHeaders ?? [],
    clockSkewSeconds: r.clockSkewSeconds,
    requireExpiration: r.requireExpiration ?? false,
  };
}

/** Where a token may be: a header (after a prefix) or a query parameter. */
export type TokenLocation = { header?: string; prefix: string; param?: string };

/** Where tokens are looked for: the rules' fromHeaders / fromParams, or `Authorization: Bearer`. */
export function tokenLocations(rules: CompiledJwtRule[]): TokenLocation[] {
  const out: TokenLocation[] = [];
  for (const r of rules) {
    if (r.fromHeaders.length === 0 && r.fromParams.length === 0)
      out.push({ header: "authorization", prefix: "Bearer " });
    for (const h of r.fromHeaders) out.push({ header: h.name.toLowerCase(), prefix: h.prefix });
    for (const p of r.fromParams) out.push({ param: p, prefix: "" });
  }
  return out.filter(
    (l, i) => out.findIndex((m) => m.header === l.header && m.param === l.param && m.prefix === l.prefix) === i,
  );
}

/** The first token a request carries at one of `locations`, and where it was. */
export function findToken(
  headers: Headers,
  query: URLSearchParams,
  locations: TokenLocation[],
): { token: string; at: TokenLocation } | undefined {
  for (const at of locations) {
    const raw = at.header ? headers.get(at.header) : query.get(at.param!);
    if (raw === null) continue;
    if (at.prefix && !raw.toLowerCase().startsWith(at.prefix.toLowerCase())) continue;
    return { token: raw.slice(at.prefix.length).trim(), at };
  }
  return undefined;
}

/** The rules of this edge that vouch for claims another hop verified: those naming their issuer. */
export const rulesForIssuer = (rules: CompiledJwtRule[], iss: unknown) => rules.filter((r) => r.issuer === iss);

/**
 * What this edge's rules say of claims taken as verified (a synthetic request: no signature to
 * check): refused if no rule trusts the issuer, or the audience is not one the rule accepts.
 */
export function judgeClaims(
  rules: CompiledJwtRule[],
  claims: Record<string, unknown>,
): { ok: true; rule: CompiledJwtRule } | { ok: false; reason: string; policy?: string } {
  const rule = rules.find((r) => r.issuer === claims.iss);
  if (!rule) return { ok: false, reason: `issuer ${JSON.stringify(claims.iss)} is not trusted here` };
  const aud = ([] as unknown[]).concat(claims.aud ?? []);
  if (rule.audiences.length && !aud.some((a) => rule.audiences.includes(String(a))))
    return {
      ok: false,
      reason: `audience ${JSON.stringify(claims.aud)} is not one of ${rule.audiences.join(", ")}`,
      policy: rule.policy,
    };
  return { ok: true, rule };
}
