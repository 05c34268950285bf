import { z } from "zod";
import { envelope, TargetRef } from "./metadata.ts";
import { AuthorizationRule } from "./authorization-rule.ts";

export { AuthorizationRule, Condition, Operation, Source } from "./authorization-rule.ts";

export const AuthorizationPolicySpec = z
  .strictObject({
    targetRefs: z.array(TargetRef).min(1),
    /** CUSTOM: when a rule matches, `provider` (an external authorization service) decides (Istio). */
    action: z.enum(["ALLOW", "DENY", "AUDIT", "CUSTOM"]).default("ALLOW"),
    /** action CUSTOM only: one of the manifest's meshConfig.extensionProviders, by name. */
    provider: z.strictObject({ name: z.string().min(1) }).optional(),
    /** No rules: an ALLOW policy then allows nothing (Istio); `[{}]` allows everything. */
    rules: z.array(AuthorizationRule).max(64).default([]),
  })
  .superRefine((s, ctx) => {
    if (s.action === "CUSTOM" && !s.provider)
      ctx.addIssue({ code: "custom", path: ["provider"], message: "action CUSTOM needs a provider: { name }" });
    if (s.action !== "CUSTOM" && s.provider)
      ctx.addIssue({
        code: "custom",
        path: ["provider"],
        message: `a provider is for action CUSTOM (not ${s.action})`,
      });
  });

export const AuthorizationPolicy = envelope("isomesh.dev/v1", "AuthorizationPolicy", AuthorizationPolicySpec);
export type AuthorizationPolicy = z.infer<typeof AuthorizationPolicy>;
