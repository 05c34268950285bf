import { z } from "zod";
import { InlineJwks } from "../resources/request-authentication.ts";

/**
 * OIDC/JWT access to the admin API (manifest `admin.oidc`, the control worker's ADMIN_OIDC var):
 * tokens from the organisation's identity provider, verified like a RequestAuthentication, with
 * the role read from a claim. An audience is required, so tokens the same provider issues for
 * other applications cannot administer the mesh.
 */
export const AdminOidc = z
  .strictObject({
    issuer: z.string().min(1).max(512),
    audiences: z
      .array(z.string().min(1))
      .min(1, "name the audience of admin tokens, or any token of the issuer would administer the mesh"),
    jwks: InlineJwks.optional(),
    jwksUri: z.string().url().startsWith("https://", "jwksUri must be https").optional(),
    /** Claim that carries the role or groups: a string or a list; a dotted path reaches nested claims (realm_access.roles). */
    roleClaim: z.string().min(1).default("isomesh_role"),
    /** Values of the role claim that grant each role. */
    editors: z.array(z.string().min(1)).default(["editor"]),
    viewers: z.array(z.string().min(1)).default(["viewer"]),
    clockSkewSeconds: z.number().int().min(0).max(600).default(60),
  })
  .refine((o) => (o.jwks === undefined) !== (o.jwksUri === undefined), {
    message: "admin.oidc needs exactly one of jwks or jwksUri",
  });
export type AdminOidc = z.infer<typeof AdminOidc>;

/** The values of the role claim: the claim named exactly, else a dotted path into nested objects. */
export function roleClaimValues(claims: Record<string, unknown>, claim: string): string[] {
  let value: unknown = claims[claim];
  if (value === undefined && claim.includes("."))
    value = claim
      .split(".")
      .reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), claims);
  if (typeof value === "string") return value.split(" ").filter(Boolean); // space-separated, like OAuth scope
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** editor if any value grants editor, else viewer if any grants viewer, else no role. */
export function roleFromClaims(oidc: AdminOidc, claims: Record<string, unknown>): "editor" | "viewer" | undefined {
  const values = roleClaimValues(claims, oidc.roleClaim);
  if (values.some((v) => oidc.editors.includes(v))) return "editor";
  if (values.some((v) => oidc.viewers.includes(v))) return "viewer";
  return undefined;
}
