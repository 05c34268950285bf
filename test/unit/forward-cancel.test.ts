import { describe, expect, it } from "vitest";
import { NO_RECORD } from "../../shared/explain/record.ts";
import { RetryBudget } from "../../shared/resilience/retry-budget.ts";
import type { Snapshot } from "../../shared/snapshot/schema.ts";
import type { Picked } from "../../workers/dataplane/exchange.ts";
import { forward } from "../../workers/dataplane/stages/forward.ts";
import { telemetry } from "../../workers/dataplane/stages/telemetry.ts";
import type { Upstream } from "../../workers/dataplane/upstream.ts";

// When this edge's caller gives up, the edge gives up on its backend too (Envoy resets the
// upstream on a downstream disconnect): the try is aborted, never retried, and not held against
// the backend's health. The caller's abort reaches the try through the telemetry stage's one
// listener (`cancelTry`), not through a signal combined per try.

describe("forward when the caller gives up", () => {
  it.each([
    ["without a timeout", {}, undefined],
    ["with a per-try timeout and retries", { backendRequest: 5000 }, undefined],
    ["with the request's deadline only", {}, 60_000],
  ])(
    "aborts the backend call, sends no retry and reports no try to outlier detection (%s)",
    async (_n, timeouts, deadlineMs) => {
      const caller = new AbortController();
      const tries: AbortSignal[] = [];
      const upstream = {
        fetch: (_x, _b, _body, signal) => {
          tries.push(signal!);
          return new Promise((_, reject) => signal!.addEventListener("abort", () => reject(signal!.reason)));
        },
      } as Upstream;
      const reported: number[] = [];
      const recorded: number[] = [];
      const backend = { service: "svc", version: "v1", weight: 1 };
      const x = {
        kind: "fetch",
        method: "GET",
        inbound: new Request("http://svc/x", { signal: caller.signal }),
        backend,
        route: {
          entry: { retry: { codes: [502, 503], attempts: 3, backoff: 1, unsafeMethods: false }, timeouts },
          backends: [backend],
        },
        admission: {
          backends: [backend],
          picked: () => {},
          tried: (_b: unknown, status: number) => void reported.push(status),
        },
        deadlineAt: deadlineMs === undefined ? undefined : Date.now() + deadlineMs,
        attempts: 0,
        callerGone: false,
        flags: new Set(),
        record: NO_RECORD,
      } as unknown as Picked;
      const snapshot = { policy: undefined } as unknown as Snapshot;
      const last = forward<Picked, Response>(
        snapshot,
        upstream,
        () => new RetryBudget({ percent: 100, minRetriesPerSecond: 100 }),
      );
      const sink = { request: (_x: unknown, status: number) => void recorded.push(status), mirror: () => {} };
      const sent = telemetry<Picked, Response>(sink)(x, (x) => last(x, () => Promise.reject(new Error("no next"))));
      await new Promise((r) => setTimeout(r, 5));
      caller.abort();
      await expect(sent).rejects.toMatchObject({ code: "upstream_failure" }); // answers nobody: the telemetry stage has recorded code 0
      expect(recorded).toEqual([0]);
      expect(tries).toHaveLength(1);
      expect(tries[0].aborted).toBe(true);
      expect(reported).toEqual([]);
    },
  );
});
