import { describe, expect, it } from "vitest";
import { boundedKey, MAX_KEY_CHARS, OVERSIZED_KEY, RATE_LIMIT_SHARDS, shardOf } from "../../shared/ratelimit/shards.ts";
import { WindowCounters } from "../../shared/ratelimit/window-counters.ts";

describe("global limit shards", () => {
  it("maps any number of keys onto a fixed set of objects, the same key always to the same one", () => {
    const names = new Set(Array.from({ length: 10_000 }, (_, i) => shardOf(`edge|policy|0|5/1000|tenant-${i}`)));
    expect(names.size).toBeLessThanOrEqual(RATE_LIMIT_SHARDS);
    expect(names.size).toBeGreaterThan(RATE_LIMIT_SHARDS * 0.9); // and spreads them
    expect(shardOf("k")).toBe(shardOf("k"));
  });

  it("counts an oversized key value as one key, so values cannot grow a table's memory", () => {
    expect(boundedKey(undefined)).toBe("(none)");
    expect(boundedKey("x".repeat(MAX_KEY_CHARS))).toBe("x".repeat(MAX_KEY_CHARS));
    expect(boundedKey("x".repeat(MAX_KEY_CHARS + 1))).toBe(OVERSIZED_KEY);
  });
});

describe("WindowCounters: exact fixed windows, bounded memory", () => {
  it("passes exactly `limit` per window and says when the window ends", () => {
    const c = new WindowCounters();
    const verdicts = Array.from({ length: 200 }, () => c.hit("k", 50, 1000, 10_100));
    expect(verdicts.filter((v) => v.ok)).toHaveLength(50);
    expect(verdicts[50]).toEqual({ ok: false, retryAfterMs: 900 });
  });

  it("starts a new window at the period's edge (so a burst straddling it passes up to 2 × limit)", () => {
    const c = new WindowCounters();
    const late = Array.from({ length: 10 }, () => c.hit("k", 10, 1000, 1999)).filter((v) => v.ok).length;
    const early = Array.from({ length: 10 }, () => c.hit("k", 10, 1000, 2000)).filter((v) => v.ok).length;
    expect(late + early).toBe(20); // 20 within 1 ms: the documented bound of fixed windows
  });

  it("keeps at most maxKeys windows, evicting the least recently used", () => {
    const c = new WindowCounters(100);
    c.hit("hot", 3, 60_000, 0);
    for (let i = 0; i < 1000; i++) {
      c.hit(`k${i}`, 3, 60_000, 1);
      if (i % 10 === 0) c.hit("hot", 3, 60_000, 1);
    }
    expect(c.size).toBeLessThanOrEqual(100);
    expect(c.evicted).toBeGreaterThan(0);
    expect(c.hit("hot", 3, 60_000, 2).ok).toBe(false); // recently used: its count survived the flood
  });

  it("drops ended windows as keys are counted, without a full scan", () => {
    const c = new WindowCounters();
    for (let i = 0; i < 500; i++) c.hit(`old-${i}`, 1, 1000, 0);
    for (let i = 0; i < 300; i++) c.hit(`new-${i}`, 1, 1000, 5000);
    expect(c.size).toBe(300); // each count drops up to two ended windows: the 500 old ones are gone
  });
});
