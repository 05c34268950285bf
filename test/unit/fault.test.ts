import { describe, expect, it } from "vitest";
import { compileRegexes } from "../../shared/regex/compile.ts";
import { faultMatcher, fires } from "../../shared/resilience/fault.ts";

describe("fault injection", () => {
  const exact = faultMatcher({
    match: { headers: [{ type: "Exact", name: "End-User", value: "jason" }] },
    abort: { httpStatus: 500, percentage: 100 },
  });
  const regex = faultMatcher(
    { match: { headers: [{ type: "RegularExpression", name: "x-env", value: "(dev|test)" }] } },
    compileRegexes(["(dev|test)"]),
  );
  it.each([
    [exact, { "end-user": "jason" }, true],
    [exact, { "end-user": "jason2" }, false],
    [exact, {}, false],
    [regex, { "x-env": "dev" }, true],
    [regex, { "x-env": "devx" }, false],
    [faultMatcher({}), {}, true],
  ])("matches %#", (matches, headers, expected) => expect(matches(new Headers(headers))).toBe(expected));

  it.each([
    [100, 0.999, true],
    [50, 0.49, true],
    [50, 0.5, false],
    [0, 0, false],
  ])("%i%% fires at draw %d: %s", (percentage, draw, expected) => expect(fires(percentage, draw)).toBe(expected));
});
