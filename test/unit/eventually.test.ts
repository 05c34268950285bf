import { describe, expect, it } from "vitest";
import { eventually } from "../helpers/eventually.ts";

// The waiting helper of the workerd and e2e suites: it must fail the test when what it waits for
// never happens (issue 25: it returned its last value, and callers that ignored it passed).

describe("eventually", () => {
  it("returns the first value that holds", async () => {
    let n = 0;
    expect(
      await eventually(
        () => ++n,
        (v) => v === 3,
        { every: 1 },
      ),
    ).toBe(3);
  });

  it("throws when time runs out, naming what was awaited and the last value", async () => {
    await expect(
      eventually(
        async () => ({ requests: 2 }),
        (s) => s.requests === 3,
        { ms: 30, every: 5, what: "3 requests counted" },
      ),
    ).rejects.toThrow(/^eventually: 3 requests counted did not hold within 30 ms; last value: \{ requests: 2 \}$/);
  });

  it("names the check by its source when no description is given", async () => {
    await expect(
      eventually(
        () => "x",
        (v) => v === "y",
        { ms: 10, every: 5 },
      ),
    ).rejects.toThrow("eventually: `(v) => v === \"y\"` did not hold within 10 ms; last value: 'x'");
  });

  it("keeps trying past a read or a check that throws, and reports the last error", async () => {
    let n = 0;
    const read = async () => {
      if (++n < 3) throw new Error("not listening yet");
      return { services: n < 4 ? [] : [{ cancelled: 1 }] };
    };
    expect(await eventually(read, (s) => s.services[0].cancelled >= 1, { every: 1 })).toEqual({
      services: [{ cancelled: 1 }],
    });
    await expect(
      eventually(
        async () => {
          throw new Error("connection refused");
        },
        () => true,
        { ms: 10, every: 5 },
      ),
    ).rejects.toThrow(/last error: connection refused$/);
  });
});
