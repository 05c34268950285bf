import { z } from "zod";
import { Duration } from "../duration.ts";
import { envelope, TargetRef } from "./metadata.ts";
import { HeaderMatch } from "./route-match.ts";
import { regexIssues } from "../regex/validate.ts";
import { KeySource } from "./key-source.ts";
import { RpcMethodValues } from "./rpc-methods.ts";
import { RetryBudget } from "./retry-budget.ts";

export { KeySource, RetryBudget };

const Percent = z.number().min(0).max(100);

export const RateLimit = z.strictObject({
  requests: z.number().int().min(1),
  per: Duration,
  key: z.optional(KeySource),
  mode: z.enum(["local", "global"]).default("local"),
});

export const FaultInjection = z
  .strictObject({
    match: z
      .strictObject({
        headers: z.array(HeaderMatch).default([]),
        /** isomesh extension: only these Workers RPC methods (then never a fetch); see AuthorizationPolicy's rpcMethods. */
        rpcMethods: z.optional(RpcMethodValues),
      })
      .superRefine((m, ctx) => {
        for (const issue of regexIssues(m)) ctx.addIssue({ code: "custom", ...issue });
        if (m.rpcMethods && m.headers.length)
          ctx.addIssue({
            code: "custom",
            path: ["headers"],
            message: "a match with rpcMethods cannot also match on headers: a Workers RPC call has none",
          });
      })
      .optional(),
    delay: z.strictObject({ fixedDelay: Duration, percentage: Percent.default(100) }).optional(),
    abort: z
      .strictObject({ httpStatus: z.number().int().min(200).max(599), percentage: Percent.default(100) })
      .optional(),
  })
  .refine((f) => f.delay || f.abort, { message: "faultInjection needs a delay or an abort" });

export const TrafficPolicySpec = z.strictObject({
  targetRefs: z.array(TargetRef).min(1),
  retryBudget: z.optional(RetryBudget),
  outlierDetection: z
    .strictObject({
      consecutiveErrors: z.number().int().min(1).default(5),
      interval: Duration.default(10_000),
      baseEjectionTime: Duration.default(30_000),
      maxEjectionPercent: Percent.default(50),
    })
    .optional(),
  concurrencyLimit: z.number().int().min(1).optional(),
  rateLimits: z.array(RateLimit).max(8).default([]),
  faultInjection: FaultInjection.optional(),
  stickySession: z.strictObject({ hashOn: KeySource }).optional(),
  /**
   * Workers RPC methods that are safe to retry (gRPC's `idempotency_level: IDEMPOTENT`): a route's
   * `retry` retries an RPC call only when its method is listed here. Same syntax as rpcMethods.
   */
  idempotentMethods: z._default(RpcMethodValues, []),
});

export const TrafficPolicy = envelope("isomesh.dev/v1", "TrafficPolicy", TrafficPolicySpec);
export type TrafficPolicy = z.infer<typeof TrafficPolicy>;
