import { z } from "zod";
import { envelope, TargetRef } from "./metadata.ts";
import { AuthorizationRule } from "./authorization-rule.ts";

export { AuthorizationRule, Condition, Operation, Source } from "./authorization-rule.ts";

export const AuthorizationPolicySpec = z.strictObject({
  targetRefs: z.array(TargetRef).min(1),
  action: z.enum(["ALLOW", "DENY", "AUDIT"]).default("ALLOW"),
  /** No rules: an ALLOW policy then allows nothing (Istio); `[{}]` allows everything. */
  rules: z.array(AuthorizationRule).max(64).default([]),
});

export const AuthorizationPolicy = envelope("isomesh.dev/v1", "AuthorizationPolicy", AuthorizationPolicySpec);
export type AuthorizationPolicy = z.infer<typeof AuthorizationPolicy>;
