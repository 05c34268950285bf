import { describe, expect, it } from "vitest";
import { decideEcho, FailureCounter } from "../../workers/echo/controls.ts";

const h = (init: Record<string, string> = {}) => new Headers(init);
const never = () => false;

describe("echo controls", () => {
  it.each([
    ["plain request", {}, {}, 0.5, 200, 0],
    ["x-echo-status", { "x-echo-status": "418" }, {}, 0.5, 418, 0],
    ["x-echo-delay-ms", { "x-echo-delay-ms": "30" }, {}, 0.5, 200, 30],
    ["delay is capped", { "x-echo-delay-ms": "999999" }, {}, 0.5, 200, 60_000],
    ["garbage status ignored", { "x-echo-status": "abc" }, {}, 0.5, 200, 0],
    ["ECHO_STATUS always", {}, { ECHO_STATUS: "503" }, 0.9, 503, 0],
    ["failRate hit uses ECHO_STATUS", {}, { ECHO_STATUS: "500", ECHO_FAIL_RATE: "0.3" }, 0.2, 500, 0],
    ["failRate miss succeeds", {}, { ECHO_STATUS: "500", ECHO_FAIL_RATE: "0.3" }, 0.4, 200, 0],
    ["failRate alone fails with 500", {}, { ECHO_FAIL_RATE: "1" }, 0.99, 500, 0],
    ["configured delay adds to header delay", { "x-echo-delay-ms": "10" }, { ECHO_DELAY_MS: "50" }, 0.5, 200, 60],
    ["header status beats configured failure", { "x-echo-status": "201" }, { ECHO_FAIL_RATE: "1" }, 0.1, 201, 0],
  ])("%s", (_name, headers, vars, draw, status, delayMs) => {
    const d = decideEcho(h(headers as Record<string, string>), vars, draw, never);
    expect(d.status).toBe(status);
    expect(d.delayMs).toBe(delayMs);
  });

  it("fails the first K requests of a key with 503, then succeeds", () => {
    const counter = new FailureCounter();
    const take = (k: string, t: number) => counter.take(k, t);
    const req = h({ "x-echo-fail-times": "2", "x-echo-key": "k1" });
    expect([1, 2, 3, 4].map(() => decideEcho(req, {}, 0.5, take).status)).toEqual([503, 503, 200, 200]);
    expect(decideEcho(h({ "x-echo-fail-times": "1", "x-echo-key": "k2" }), {}, 0.5, take).status).toBe(503);
  });

  it("forgets the oldest keys past its bound", () => {
    const counter = new FailureCounter(2);
    counter.take("a", 1);
    counter.take("b", 1);
    counter.take("c", 1);
    expect(counter.take("a", 1)).toBe(true); // "a" was forgotten, so it fails again
  });
});
