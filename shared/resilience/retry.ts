import * as z from "zod/mini";
import type { RouteRule } from "../resources/http-route.ts";

const DEFAULT_BACKOFF_MS = 25; // Envoy's base retry interval
const MAX_BACKOFF_FACTOR = 10; // Envoy caps the backoff interval at 10x the base
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

/** A route's retry policy as edges run it (GEP-1731): the resource's, with the backoff default filled in (ms). */
export const CompiledRetry = z.object({
  codes: z.array(z.number()),
  attempts: z.number(),
  backoff: z.number(),
  unsafeMethods: z.boolean(),
});
export type CompiledRetry = z.infer<typeof CompiledRetry>;

export const compileRetry = (r: RouteRule["retry"]): CompiledRetry | undefined =>
  r && { ...r, backoff: r.backoff ?? DEFAULT_BACKOFF_MS };

/** The flags the retry loop sets (Envoy: UT for an upstream timeout). */
export const RETRY_FLAGS = {
  retried: "more than one try was sent",
  retry_budget_exhausted: "a retry the retry budget refused",
  timed_out: "a route or deadline timeout expired (504)",
} as const;

/** How many retries a request may get: the route's attempts, for idempotent methods unless the route opts in for all. */
export const retriesFor = (retry: CompiledRetry | undefined, method: string) =>
  retry && (IDEMPOTENT.has(method) || retry.unsafeMethods) ? retry.attempts : 0;

/**
 * How many retries a Workers RPC call may get: the route's attempts when its method is declared
 * idempotent (TrafficPolicy idempotentMethods, gRPC's idempotency_level), else none.
 */
export const rpcRetriesFor = (retry: CompiledRetry | undefined, idempotent: boolean) =>
  retry && idempotent ? retry.attempts : 0;

/** Whether a try's outcome is worth another: a listed status, or no answer at all (a connection failure or a per-try timeout). */
export const retryable = (retry: CompiledRetry | undefined, status: number | undefined) =>
  status === undefined ? true : !!retry?.codes.includes(status);

/** Exponential backoff with full jitter (`draw` in [0, 1)), capped at 10x the base. */
export const backoffMs = (retry: CompiledRetry | undefined, attempt: number, draw: number) => {
  const base = retry?.backoff ?? DEFAULT_BACKOFF_MS;
  return draw * Math.min(base * 2 ** (attempt - 1), base * MAX_BACKOFF_FACTOR);
};
