import { z } from "zod";
import { envelope, TargetRef } from "./metadata.ts";
import { isRpcMethodPattern, MAX_METHOD_NAME } from "../rpc/method.ts";

const Values = z.array(z.string().min(1).max(1024)).max(64).optional();

/**
 * Workers RPC methods by full name, Istio's value syntax (exact, `*`, `prefix*`, `*suffix`):
 * `getRating` on the default entrypoint, `Admin.reset` on a named one, `Admin.*` for all of it.
 */
export const RpcMethodValues = z
  .array(
    z
      .string()
      .min(1)
      .max(2 * MAX_METHOD_NAME + 1)
      .refine(isRpcMethodPattern, "an RPC method is `method` (default entrypoint) or `Entrypoint.method`, with an optional leading or trailing `*`"),
  )
  .max(64);

export const Source = z.strictObject({
  principals: Values,
  notPrincipals: Values,
  requestPrincipals: Values,
  notRequestPrincipals: Values,
});

export const Operation = z.strictObject({
  methods: Values,
  notMethods: Values,
  /** isomesh extension: Workers RPC methods (a fetch has none, an RPC call has no path, host or HTTP method). */
  rpcMethods: RpcMethodValues.optional(),
  notRpcMethods: RpcMethodValues.optional(),
  paths: Values,
  notPaths: Values,
  hosts: Values,
  notHosts: Values,
});

const CONDITION_KEY = /^(request\.auth\.claims\[[^\]]+\]|request\.headers\[[^\]]+\]|source\.principal|request\.auth\.principal)$/;

export const Condition = z
  .strictObject({
    key: z.string().regex(CONDITION_KEY, "key must be request.auth.claims[NAME], request.headers[NAME], source.principal or request.auth.principal"),
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
