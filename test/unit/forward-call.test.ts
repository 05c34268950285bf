import { describe, expect, it } from "vitest";
import { MeshError } from "../../shared/errors.ts";
import { NO_RECORD } from "../../shared/explain/record.ts";
import { RetryBudget } from "../../shared/resilience/retry-budget.ts";
import type { CompiledRetry } from "../../shared/resilience/retry.ts";
import { rpcTarget } from "../../shared/rpc/match.ts";
import type { Snapshot } from "../../shared/snapshot/schema.ts";
import type { Called, Picked } from "../../workers/dataplane/exchange.ts";
import { forward } from "../../workers/dataplane/stages/forward.ts";
import type { Upstream } from "../../workers/dataplane/upstream.ts";

// A Workers RPC call's tries run the fetch's own loop (workers/dataplane/stages/forward.ts): the same
// retries, budget, per-try timeout, deadline and backoff; only how a try is sent and read differs.

const remote = (message: string) => Object.assign(new Error(message), { remote: true });
const backend = { service: "ratings", version: "v1", weight: 1 };

function call(o: { retry?: Partial<CompiledRetry>; perTryMs?: number; deadlineMs?: number; idempotent?: boolean }) {
  const statuses: number[] = [];
  const x = {
    kind: "rpc",
    invocation: { method: "getRating", args: [1] },
    call: rpcTarget(undefined, "getRating"),
    args: [1],
    backend,
    route: {
      entry: {
        retry: o.retry && { codes: [], attempts: 0, backoff: 1, unsafeMethods: false, ...o.retry },
        timeouts: { backendRequest: o.perTryMs },
      },
      backends: [backend],
    },
    admission: { backends: [backend], picked: () => {}, tried: (_b: unknown, s: number) => void statuses.push(s) },
    deadlineAt: o.deadlineMs === undefined ? undefined : Date.now() + o.deadlineMs,
    attempts: 0,
    callerGone: false,
    flags: new Set<string>(),
    record: NO_RECORD,
  } as unknown as Picked;
  const snapshot = {
    policy: { idempotentMethods: o.idempotent === false ? [] : ["getRating"] },
  } as unknown as Snapshot;
  return { x, statuses, snapshot };
}

const run = (
  c: ReturnType<typeof call>,
  send: () => Promise<unknown>,
  budget = new RetryBudget({ percent: 100, minRetriesPerSecond: 100 }),
) =>
  forward<Picked, Called>(
    c.snapshot,
    { call: send } as unknown as Upstream,
    () => budget,
  )(c.x, () => Promise.reject(new Error("no next")));

describe("forward, for a Workers RPC call", () => {
  it("answers the value of the first try", async () => {
    const c = call({});
    expect(await run(c, async () => 7)).toEqual({ value: 7 });
    expect(c.statuses).toEqual([200]);
    expect(c.x.attempts).toBe(1);
  });

  it("retries an idempotent method as many times as the route allows, on the listed statuses", async () => {
    let n = 0;
    const flaky = async () => {
      if (++n <= 2) throw remote("flaky");
      return "ok";
    };
    const c = call({ retry: { codes: [500], attempts: 2 } });
    expect(await run(c, flaky)).toEqual({ value: "ok" });
    expect(c.statuses).toEqual([500, 500, 200]);
    expect(c.x.flags.has("retried")).toBe(true);
    n = 0;
    await expect(run(call({ retry: { codes: [500], attempts: 2 }, idempotent: false }), flaky)).rejects.toThrow(
      "flaky",
    );
    n = 0;
    const unlisted = call({ retry: { codes: [503], attempts: 2 } });
    await expect(run(unlisted, flaky)).rejects.toThrow("flaky"); // the method answered 500, which is not listed
    expect(unlisted.statuses).toEqual([500]);
  });

  it("retries a try that got no answer at all, as a fetch's connection error (GEP-1731)", async () => {
    let n = 0;
    const lost = async () => {
      if (++n === 1) throw new Error("Network connection lost."); // not remote: the binding failed
      return "ok";
    };
    const c = call({ retry: { codes: [503], attempts: 1 } });
    expect(await run(c, lost)).toEqual({ value: "ok" });
    expect(c.statuses).toEqual([502, 200]);
  });

  it("a try that outlives its budget ends as upstream_timeout, and the loop stops at the deadline", async () => {
    const c = call({ retry: { codes: [504], attempts: 5 }, perTryMs: 20, deadlineMs: 60 });
    const started = Date.now();
    const e = await run(c, () => new Promise<never>(() => {})).catch((e: unknown) => e);
    expect(e).toBeInstanceOf(MeshError);
    expect((e as MeshError).code).toBe("upstream_timeout");
    expect(c.x.flags.has("timed_out")).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("the retry budget can refuse a retry", async () => {
    const c = call({ retry: { codes: [500], attempts: 3 } });
    const none = new RetryBudget({ percent: 0, minRetriesPerSecond: 0 });
    await expect(run(c, async () => Promise.reject(remote("x")), none)).rejects.toThrow("x");
    expect(c.x.attempts).toBe(1);
    expect(c.x.flags.has("retry_budget_exhausted")).toBe(true);
  });

  it("a method the version lacks is no_method, and the caller learns the method", async () => {
    const c = call({});
    const missing = () => Promise.reject(new TypeError('The RPC receiver does not implement the method "getRating".'));
    await expect(run(c, missing)).rejects.toMatchObject({ code: "no_method", status: 404 });
  });
});
