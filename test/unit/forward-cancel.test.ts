import { describe, expect, it } from "vitest";
import { NO_RECORD } from "../../shared/explain/record.ts";
import { RetryBudget } from "../../shared/resilience/retry-budget.ts";
import type { Picked } from "../../workers/dataplane/exchange.ts";
import { forward } from "../../workers/dataplane/stages/forward.ts";
import type { Upstream } from "../../workers/dataplane/upstream.ts";

// When this edge's caller gives up, the edge gives up on its backend too (Envoy resets the
// upstream on a downstream disconnect): the try is aborted, never retried, and not held against
// the backend's health.

describe("forward when the caller gives up", () => {
  it.each([
    ["without a timeout", {}],
    ["with a per-try timeout and retries", { backendRequest: 5000 }],
  ])("aborts the backend call, sends no retry and reports no try to outlier detection (%s)", async (_n, timeouts) => {
    const caller = new AbortController();
    const tries: AbortSignal[] = [];
    const upstream: Upstream = (_x, _b, _body, signal) => {
      tries.push(signal!);
      return new Promise((_, reject) => signal!.addEventListener("abort", () => reject(signal!.reason)));
    };
    const reported: number[] = [];
    const backend = { service: "svc", version: "v1", weight: 1 };
    const x = {
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
      attempts: 0,
      flags: new Set(),
      record: NO_RECORD,
    } as unknown as Picked;
    const sent = forward(upstream, () => new RetryBudget({ percent: 100, minRetriesPerSecond: 100 }))(x);
    await new Promise((r) => setTimeout(r, 5));
    caller.abort();
    await expect(sent).rejects.toMatchObject({ code: "upstream_failure" }); // answers nobody: the telemetry stage has recorded code 0
    expect(tries).toHaveLength(1);
    expect(tries[0].aborted).toBe(true);
    expect(reported).toEqual([]);
  });
});
