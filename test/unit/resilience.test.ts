import { describe, expect, it } from "vitest";
import { TokenBucket } from "../../shared/ratelimit/token-bucket.ts";
import { OutlierDetector } from "../../shared/resilience/outlier-detection.ts";
import { RetryBudget } from "../../shared/resilience/retry-budget.ts";

describe("token bucket", () => {
  it("allows a burst of capacity, then refills at capacity per period", () => {
    const b = new TokenBucket(3, 1000, 0);
    expect([0, 0, 0, 0].map(() => b.take(0).ok)).toEqual([true, true, true, false]);
    expect(b.take(0)).toEqual({ ok: false, retryAfterMs: 334 });
    expect(b.take(334).ok).toBe(true);
    expect(b.take(334).ok).toBe(false);
  });
});

describe("retry budget", () => {
  it("allows percent of requests plus a per-second floor over 10 s", () => {
    const b = new RetryBudget({ percent: 20, minRetriesPerSecond: 0 });
    let retries = 0;
    for (let i = 0; i < 1000; i++) {
      b.onRequest(i);
      if (b.tryRetry(i)) retries++;
    }
    expect(retries).toBeGreaterThanOrEqual(199);
    expect(retries).toBeLessThanOrEqual(201);
  });
  it("grants the floor even with no traffic, and forgets old windows", () => {
    const b = new RetryBudget({ percent: 0, minRetriesPerSecond: 1 });
    let n = 0;
    while (b.tryRetry(0)) n++;
    expect(n).toBe(10);
    expect(b.tryRetry(11_000)).toBe(true);
  });
});

describe("outlier detection (breaker)", () => {
  const cfg = { consecutiveErrors: 2, interval: 1000, baseEjectionTime: 1000, maxEjectionPercent: 50 };
  const all = ["a", "b"];
  it("opens after consecutive errors, half-opens after the ejection time, closes on a good probe", () => {
    const d = new OutlierDetector(cfg);
    d.record("a", 503, 0, all);
    expect(d.state("a", 0)).toBe("closed");
    d.record("a", 502, 1, all);
    expect(d.state("a", 1)).toBe("open");
    expect(d.available(all, 500)).toEqual({ usable: ["b"], open: ["a"], probing: undefined });
    expect(d.state("a", 1001)).toBe("half-open");
    expect(d.available(all, 1001).probing).toBe("a");
    d.startProbe("a");
    expect(d.available(all, 1002)).toEqual({ usable: ["b"], open: ["a"], probing: undefined }); // one probe at a time
    d.record("a", 200, 1003, all);
    expect(d.state("a", 1003)).toBe("closed");
  });
  it("ejects again for longer when the probe fails", () => {
    const d = new OutlierDetector(cfg);
    d.record("a", 500, 0, all);
    d.record("a", 500, 0, all);
    d.record("a", 500, 1001, all); // probe fails
    expect(d.state("a", 2500)).toBe("open");
    expect(d.state("a", 3002)).toBe("half-open"); // 2 x base
  });
  it("never ejects more than maxEjectionPercent", () => {
    const d = new OutlierDetector(cfg);
    for (const b of all) for (let i = 0; i < 3; i++) d.record(b, 500, 0, all);
    expect(all.filter((b) => d.state(b, 0) === "open")).toHaveLength(1);
  });
  it("counts only consecutive errors", () => {
    const d = new OutlierDetector(cfg);
    d.record("a", 500, 0, all);
    d.record("a", 200, 0, all);
    d.record("a", 500, 0, all);
    expect(d.state("a", 0)).toBe("closed");
  });
});
