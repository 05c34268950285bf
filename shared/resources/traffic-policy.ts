import { z } from "zod";
import { Duration } from "../duration.ts";
import { envelope, TargetRef } from "./metadata.ts";
import { HeaderMatch } from "./route-match.ts";
import { KeySource } from "./key-source.ts";
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
    match: z.strictObject({ headers: z.array(HeaderMatch).default([]) }).optional(),
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
});

export const TrafficPolicy = envelope("isomesh.dev/v1", "TrafficPolicy", TrafficPolicySpec);
export type TrafficPolicy = z.infer<typeof TrafficPolicy>;
