import { z } from "zod";
import { envelope, TargetRef } from "./metadata.ts";
import { JwtRuleFields } from "./jwt-rule.ts";

const MAX_JWKS_BYTES = 64 * 1024;

/** An inline JWKS document (a JSON string, as in Istio): parsed and checked at apply time. */
export const InlineJwks = z
  .string()
  .max(MAX_JWKS_BYTES, "jwks is limited to 64 KiB")
  .superRefine((text, ctx) => {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      ctx.addIssue({ code: "custom", message: "jwks must be a JSON Web Key Set (JSON text)" });
      return;
    }
    const keys = (doc as { keys?: unknown }).keys;
    if (!Array.isArray(keys) || keys.length === 0)
      return void ctx.addIssue({ code: "custom", message: "jwks needs a non-empty `keys` array" });
    keys.forEach((k, i) => {
      const key = k as Record<string, unknown>;
      if (key.kty === "oct")
        ctx.addIssue({ code: "custom", message: `keys[${i}]: symmetric keys (kty oct) are not accepted` });
      else if (!["RSA", "EC", "OKP"].includes(String(key.kty)))
        ctx.addIssue({ code: "custom", message: `keys[${i}]: unsupported kty ${JSON.stringify(key.kty)}` });
      if ("d" in key)
        ctx.addIssue({ code: "custom", message: `keys[${i}]: this is a private key; publish only public keys` });
    });
  });

export const JwtRule = z
  .strictObject({ ...JwtRuleFields.shape, jwks: InlineJwks.optional() })
  .refine((r) => (r.jwks === undefined) !== (r.jwksUri === undefined), {
    message: "a jwtRule needs exactly one of jwks or jwksUri",
  });

export const RequestAuthenticationSpec = z.strictObject({
  targetRefs: z.array(TargetRef).min(1),
  jwtRules: z.array(JwtRule).min(1).max(16),
});

export const RequestAuthentication = envelope("isomesh.dev/v1", "RequestAuthentication", RequestAuthenticationSpec);
export type RequestAuthentication = z.infer<typeof RequestAuthentication>;
export type JwtRule = z.infer<typeof JwtRule>;
