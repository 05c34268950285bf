import * as z from "zod/mini";
import { RpcMethodValues } from "./rpc-methods.ts";

// An AuthorizationPolicy rule, as users write it and as compiled snapshots carry it (zod/mini: see route-match.ts).

const Values = z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(1024))).check(z.maxLength(64)));

export const Source = z.strictObject({
  principals: Values,
  notPrincipals: Values,
  requestPrincipals: Values,
  notRequestPrincipals: Values,
});

export const Operation = z.strictObject({
  methods: Values,
  notMethods: Values,
  /** isomesh extension: Workers RPC methods (a fetch has none; an RPC call has no path, host or HTTP method). */
  rpcMethods: z.optional(RpcMethodValues),
  notRpcMethods: z.optional(RpcMethodValues),
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
      .check(
        z.regex(
          CONDITION_KEY,
          "key must be request.auth.claims[NAME], request.headers[NAME], source.principal or request.auth.principal",
        ),
      ),
    values: Values,
    notValues: Values,
  })
  .check(z.refine((c) => c.values || c.notValues, { message: "a condition needs values or notValues" }));

export const AuthorizationRule = z.strictObject({
  from: z.optional(z.array(z.strictObject({ source: Source }))),
  to: z.optional(z.array(z.strictObject({ operation: Operation }))),
  when: z.optional(z.array(Condition)),
});
export type AuthorizationRule = z.infer<typeof AuthorizationRule>;
