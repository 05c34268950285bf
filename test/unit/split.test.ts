import { describe, expect, it } from "vitest";
import {
  backendLabel,
  type CompiledBackend,
  hashUnit,
  pickBackend,
  sharesOf,
  splitUnit,
  withDefaultSplit,
} from "../../shared/routing/split.ts";

const b = (version: string | undefined, weight: number, service = "web"): CompiledBackend => ({
  service,
  ...(version ? { version } : {}),
  weight,
});

describe("pickBackend", () => {
  const two = [b("v1", 80), b("v2", 20)];
  it.each([
    [two, 0, "web/v1"],
    [two, 0.79, "web/v1"],
    [two, 0.8, "web/v2"],
    [two, 0.999, "web/v2"],
    [[b("v1", 0), b("v2", 1)], 0, "web/v2"],
    [[b("v1", 1), b("v2", 0)], 0.999, "web/v1"],
    [[b("v1", 0), b("v2", 0)], 0.5, undefined],
    [[], 0.5, undefined],
  ])("%j at %d picks %s", (backends, unit, expected) =>
    expect(pickBackend(backends, unit) && backendLabel(pickBackend(backends, unit)!)).toBe(expected),
  );
});

describe("withDefaultSplit", () => {
  const defaults = [b("v1", 90), b("v3", 10)];
  it.each([
    ["versions as written", [b("v1", 1), b("v2", 1)], [b("v1", 1), b("v2", 1)]],
    ["the service alone: the default split", [b(undefined, 1)], [b("v1", 90), b("v3", 10)]],
    [
      "the service beside a version keeps each its share",
      [b(undefined, 1), b("v2", 1)],
      [b("v1", 90), b("v3", 10), b("v2", 100)],
    ],
  ])("%s", (_n, declared, expected) => expect(withDefaultSplit(declared, defaults)).toEqual(expected));
});

describe("sharesOf", () => {
  it.each([
    [[b("v1", 80), b("v2", 20)], { "web/v1": 0.8, "web/v2": 0.2 }],
    [[b("v1", 1), b("v2", 2)], { "web/v1": 0.3333, "web/v2": 0.6667 }],
    [[b(undefined, 1, "api")], { api: 1 }],
    [[b("v1", 0)], undefined],
  ])("%j → %j", (backends, shares) => expect(sharesOf(backends)).toEqual(shares));
});

describe("stickiness", () => {
  it("hashes a key to a stable position in [0, 1), and draws at random without one", () => {
    expect(splitUnit("ann")).toBe(hashUnit("ann"));
    expect(splitUnit("ann")).toBe(splitUnit("ann"));
    for (const key of ["", "a", "ann", "x".repeat(600)])
      (expect(hashUnit(key)).toBeGreaterThanOrEqual(0), expect(hashUnit(key)).toBeLessThan(1));
    expect(new Set(Array.from({ length: 5 }, () => splitUnit(undefined))).size).toBeGreaterThan(1);
  });
});
