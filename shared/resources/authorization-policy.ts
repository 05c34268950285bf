import { z } from "zod";
import { envelope, TargetRef } from "./metadata.ts";

const Values = z.array(z.string().min(1).max(1024)).max(64).optional();

export const Source = z.strictObject({
  principals: Values,
  notPrincipals: Values,
  requestPrincipals: Values,
  notRequestPrincipals: Values,
});

export const Operation = z.strictObject({
  methods: Values,
  notMethods: Values,
  paths: Values,
  notPaths: Values,
  hosts: Values,
  notHosts: Values,
});

const CONDITION_KEY =
  /^(request\.auth\.claims\[[^\]]+\]|request\.headers\[[^\]]+\]|source\.principal|request\.auth\.principal)$/;

export const Condition = z
  .strictObject({
    key: z
      .string()
      .regex(
        CONDITION_KEY,
        "key must be request.auth.claims[NAME], request.headers[NAME], source.principal or request.auth.principal",
      ),
    values: Values,
    notValues: Values,
  })
  .refine((c) => c.values || c.notValues, { message: "a condition needs values or notValues" });

export const AuthorizationRule = z.strictObject({
  from: z.array(z.strictObject({ source: Source })).optional(),
  to: z.array(z.strictObject({ operation: Operation })).optional(),
  when: z.array(Condition).optional(),
});

export const AuthorizationPolicySpec = z.strictObject({
  targetRefs: z.array(TargetRef).min(1),
  action: z.enum(["ALLOW", "DENY", "AUDIT"]).default("ALLOW"),
  /** No rules: an ALLOW policy then allows nothing (Istio); `[{}]` allows everything. */
  rules: z.array(AuthorizationRule).max(64).default([]),
});

export const AuthorizationPolicy = envelope("isomesh.dev/v1", "AuthorizationPolicy", AuthorizationPolicySpec);
export type AuthorizationPolicy = z.infer<typeof AuthorizationPolicy>;
export type AuthorizationRule = z.infer<typeof AuthorizationRule>;
