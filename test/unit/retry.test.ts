import { describe, expect, it } from "vitest";
import { backoffMs, compileRetry, retriesFor, retryable } from "../../shared/resilience/retry.ts";

const retry = compileRetry({ codes: [502, 503], attempts: 3, unsafeMethods: false })!;

describe("retry policy (GEP-1731)", () => {
  it("fills in Envoy's 25 ms base backoff", () => expect(retry.backoff).toBe(25));

  it.each([
    ["GET", retry, 3],
    ["PUT", retry, 3],
    ["POST", retry, 0],
    ["PATCH", retry, 0],
    ["POST", { ...retry, unsafeMethods: true }, 3],
    ["GET", undefined, 0],
  ])("%s with %j gets %i retries", (method, r, n) => expect(retriesFor(r, method)).toBe(n));

  it.each([
    [503, true],
    [502, true],
    [500, false],
    [200, false],
    [undefined, true], // no answer: a connection failure or a per-try timeout
  ])("status %s is retryable: %s", (status, expected) => expect(retryable(retry, status)).toBe(expected));

  it.each([
    [1, 0.5, 12.5],
    [2, 1, 50],
    [3, 1, 100],
    [6, 1, 250], // capped at 10x the base
  ])("backoff of attempt %i at draw %d is %d ms", (attempt, draw, ms) =>
    expect(backoffMs(retry, attempt, draw)).toBe(ms),
  );
});
