import * as z from "zod/mini";

/** A TrafficPolicy's concurrencyLimit: requests in flight per backend, per edge isolate. */
export const CompiledConcurrencyLimit = z.number().check(z.int(), z.gte(1));

export const CONCURRENCY_FLAGS = { overloaded: "the concurrency limit was reached (503)" } as const;

/** Whether one more request may go to a backend with `inflight` requests under way. */
export const admits = (limit: number | undefined, inflight: number) => limit === undefined || inflight < limit;
