import { describe, expect, it } from "vitest";
import { NO_RECORD } from "../../shared/explain/record.ts";
import type { Exchange } from "../../workers/edge/exchange.ts";
import { forward } from "../../workers/edge/stages/forward.ts";
import type { Upstream } from "../../workers/edge/upstream.ts";

// When this edge's caller gives up, the edge gives up on its backend too (Envoy resets the
// upstream on a downstream disconnect): the try is aborted, never retried, and not held against
// the backend's health.

describe("forward when the caller gives up", () => {
  it.each([
    ["without a timeout", {}],
    ["with a per-try timeout and retries", { backendRequestMs: 5000 }],
  ])("aborts the backend call, sends no retry and reports no try to outlier detection (%s)", async (_n, timeouts) => {
    const caller = new AbortController();
    const tries: AbortSignal[] = [];
    const upstream: Upstream = (_x, _b, _body, signal) => {
      tries.push(signal!);
      return new Promise((_, reject) => signal!.addEventListener("abort", () => reject(signal!.reason)));
    };
    const reported: number[] = [];
    const x = {
      inbound: new Request("http://svc/x", { signal: caller.signal }),
      backend: { service: "svc", version: "v1", weight: 1 },
      route: { retry: { codes: [502, 503], attempts: 3, backoffMs: 1, unsafeMethods: false }, timeouts },
      attempts: 0,
      flags: new Set<string>(),
      record: NO_RECORD,
    } as unknown as Exchange;
    const sent = forward(upstream, {
      onRequest: () => {},
      allowRetry: () => true,
      onTry: (_x, status) => void reported.push(status),
    })(x, () => Promise.reject(new Error("last stage")));
    await new Promise((r) => setTimeout(r, 5));
    caller.abort();
    await expect(sent).rejects.toMatchObject({ code: "upstream_failure" }); // answers nobody: the telemetry stage has recorded code 0
    expect(tries).toHaveLength(1);
    expect(tries[0].aborted).toBe(true);
    expect(reported).toEqual([]);
  });
});
