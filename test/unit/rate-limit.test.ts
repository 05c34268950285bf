import { describe, expect, it } from "vitest";
import { limitScope, retryAfterSeconds } from "../../shared/ratelimit/rate-limit.ts";

const facts = { headers: new Headers({ "x-user": "ann" }), host: "h", caller: "c" };
const limit = { requests: 10, per: 60_000, mode: "local" as const };

describe("rate-limit scopes", () => {
  it.each([
    ["by header", { ...limit, key: { header: "x-user" } }, facts, "e|p|0|10/60000|ann", "ann"],
    ["without a key: one counter", limit, facts, "e|p|0|10/60000|*", "*"],
    [
      "a request without the key counts as (none)",
      { ...limit, key: { header: "x-none" } },
      facts,
      "e|p|0|10/60000|(none)",
      "(none)",
    ],
    [
      "an oversized key counts with every other",
      { ...limit, key: { header: "x-user" } },
      { ...facts, headers: new Headers({ "x-user": "x".repeat(600) }) },
      "e|p|0|10/60000|(oversized)",
      "(oversized)",
    ],
  ])("%s", (_n, l, f, scope, key) => expect(limitScope("e", "p", 0, l, f)).toEqual({ scope, key }));

  it.each([
    [1, "1"],
    [1000, "1"],
    [1001, "2"],
    [0, "1"],
  ])("Retry-After for %i ms is %s s", (ms, s) => expect(retryAfterSeconds(ms)).toBe(s));
});
