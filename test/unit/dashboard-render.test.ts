import { describe, expect, it } from "vitest";
import { sparkline } from "../../workers/control/ui/app/sparkline.ts";
import { nextTraceRows, renderTraces, type TraceRow } from "../../workers/control/ui/app/traces.ts";

// What the dashboard draws from the API's data, in process (the page itself: test/browser/).

const point = (p99: number | null, rps = p99 === null ? 0 : 1) => ({ at: "", rps, successRate: null, p99 });

describe("sparklines", () => {
  it("draw a p99 with quiet steps between its values as one line, not fragments", () => {
    const svg = sparkline([point(5), point(null), point(9), point(null), point(null), point(7)], (p) => p.p99, "p99");
    expect(svg.match(/<polyline /g)).toHaveLength(1);
    expect(svg).not.toContain("<circle");
    expect(svg.match(/points="([^"]+)"/)![1].split(" ")).toHaveLength(3);
  });
  it("draw a lone value as a dot, and no values as the dashed 'no data' line", () => {
    expect(sparkline([point(null), point(4), point(null)], (p) => p.p99, "p99")).toMatch(/<circle [^>]*r="1.5"/);
    expect(sparkline([point(null), point(null)], (p) => p.p99, "p99")).toContain('class="spark-none"');
  });
});

const row = (traceId: string, at: string): TraceRow => ({
  traceId,
  at,
  spans: 5,
  root: "gateway",
  name: "GET /productpage",
  durationMs: 9,
  status: 200,
});

describe("the trace list", () => {
  const a = row("a".repeat(32), "2026-12-05T10:00:01.000Z");
  const b = row("b".repeat(32), "2026-12-05T10:00:02.000Z");
  const c = row("c".repeat(32), "2026-12-05T10:00:02.000Z");
  const d = row("d".repeat(32), "2026-12-05T10:00:03.000Z");

  it("orders newest first, ties by id: the same traces always in the same order, whatever the API's order", () => {
    expect(nextTraceRows(null, [a, c, b], false).rows).toEqual([b, c, a]);
    expect(nextTraceRows(null, [c, a, b], false).rows).toEqual([b, c, a]);
  });
  it("holds still while paused, counting the traces that arrived meanwhile; moves on when the pause ends", () => {
    const shown = nextTraceRows(null, [a, b, c], false).rows;
    expect(nextTraceRows(shown, [d, b, c], true)).toEqual({ rows: shown, newer: 1 });
    expect(nextTraceRows(shown, [d, b, c], false)).toEqual({ rows: [d, b, c], newer: 0 });
  });
  it("marks the open trace and says why the list is paused", () => {
    const html = renderTraces([b, a], { selected: a.traceId, paused: true, newer: 2 });
    expect(html).toContain(`<tr class="trace-row selected" data-trace="${a.traceId}">`);
    expect(html).toMatch(/paused while a trace is open · 2 newer <button class="secondary" id="close-trace">/);
    expect(renderTraces([b, a])).not.toContain("paused");
  });
});
