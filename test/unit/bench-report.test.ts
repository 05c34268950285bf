import { describe, expect, it } from "vitest";
import { historySection, hopComparisons, hopTargetRows } from "../../scripts/bench/hop-report.ts";
import type { HopRow } from "../../scripts/bench/hop.ts";

const row = (name: string, p50Ms: number, cpuUs: number): HopRow => ({
  name,
  p50: p50Ms,
  p90: p50Ms,
  p99: p50Ms,
  max: p50Ms,
  cpuUsPerReq: cpuUs,
  errors: 0,
  samples: [],
});
const rows = [
  row("direct", 0.2, 100),
  row("pass-through binding hop", 0.25, 160),
  row("two pass-through binding hops", 0.3, 220),
  row("isomesh service edge (edge → app)", 0.27, 190),
  row("isomesh (gateway → edge → app)", 0.4, 300),
  row("isomesh inline (gateway → app)", 0.29, 205),
  row("east-west inline (app → app)", 0.3, 200),
];

describe("the hop's report in BENCHMARKS.md", () => {
  it("compares each mesh row with the bare chain of as many binding hops", () => {
    const c = hopComparisons(rows);
    expect(c.edgeHop?.p50Us).toBeCloseTo(20);
    expect(c.edgeHop?.cpuUs).toBe(30);
    expect(c.northSouthEdge?.p50Us).toBeCloseTo(100); // against two pass-throughs, not one
    expect(c.northSouthEdge?.cpuUs).toBe(80);
    expect(c.northSouthInline?.cpuUs).toBe(45);
  });

  it("marks a target met or says by how much it is missed", () => {
    const lines = hopTargetRows(rows).split("\n");
    expect(lines[0]).toContain("+20 µs p50, +30 µs CPU | **met**");
    expect(lines[2]).toContain("**not met** (p50 by 50 µs, CPU by 20 µs)");
  });

  it("keeps every earlier run's row and appends this run's", () => {
    const first = historySection("", "2026-12-06", "abc1234", rows);
    expect(first).toContain("| 2026-12-01 | 30ce07a |");
    expect(first).toContain("| 2026-12-06 | abc1234 | 160 µs | +20 µs | +30 µs |");
    const second = historySection(`# isomesh benchmarks\n\n${first}`, "2026-12-07", "def5678", rows);
    const dated = second.split("\n").filter((l) => /^\| \d{4}-/.test(l));
    expect(dated.map((l) => l.split(" | ")[1])).toEqual(["30ce07a", "abc1234", "def5678"]);
  });
});
