import * as z from "zod/mini";
import { KeySource } from "../resources/key-source.ts";
import type { TrafficPolicySpec } from "../resources/traffic-policy.ts";
import { type KeyFacts, requestKey } from "../routing/request-key.ts";
import { boundedKey } from "./shards.ts";

/** A TrafficPolicy's rate limit as edges run it: the resource's own fields, `per` in ms. */
export const CompiledRateLimit = z.object({
  requests: z.number(),
  per: z.number(),
  key: z.optional(KeySource),
  mode: z.enum(["local", "global"]),
});
export type CompiledRateLimit = z.infer<typeof CompiledRateLimit>;

export const compileRateLimits = (limits: z.output<typeof TrafficPolicySpec>["rateLimits"]): CompiledRateLimit[] =>
  limits;

export const RATE_LIMIT_FLAGS = { rate_limited: "a rate limit refused it (429)" } as const;

/** What a request counts against for limit `rule` of `policy` at `edge`: its bucket (or global counter) and the key it was keyed on. */
export function limitScope(
  edge: string,
  policy: string,
  rule: number,
  limit: CompiledRateLimit,
  facts: KeyFacts,
): { scope: string; key: string } {
  const key = boundedKey(requestKey(limit.key, facts));
  return { scope: `${edge}|${policy}|${rule}|${limit.requests}/${limit.per}|${key}`, key };
}

export const describeLimit = (l: CompiledRateLimit) => `${l.requests} per ${l.per} ms (${l.mode})`;

/** Retry-After for a refusal: whole seconds, at least one. */
export const retryAfterSeconds = (retryAfterMs: number) => String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
