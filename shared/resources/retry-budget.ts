import * as z from "zod/mini";

// Part of a TrafficPolicy that compiled snapshots carry as is (zod/mini: see route-match.ts).

export const RetryBudget = z.strictObject({
  percent: z._default(z.number().check(z.gte(0), z.lte(100)), 20),
  minRetriesPerSecond: z._default(z.number().check(z.int(), z.gte(0)), 10),
});
export type RetryBudget = z.infer<typeof RetryBudget>;
