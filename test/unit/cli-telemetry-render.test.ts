import { describe, expect, it } from "vitest";
import { renderHops } from "../../scripts/cli/commands/explain.ts";
import { statTable, waterfall } from "../../scripts/cli/commands/observe.ts";

// How the CLI shows a request whose caller gave up (code 0) and a mirror's copy.

describe("CLI rendering of cancelled and mirrored requests", () => {
  it("explain --send names a hop whose caller gave up, with the time until then", () => {
    const text = renderHops([
      {
        edge: "ratings-edge",
        caller: "reviews",
        status: 0,
        durationMs: 2501,
        decisions: [{ stage: "cancel", decision: "the caller gave up after 2501 ms" }],
        children: [],
      },
    ]);
    expect(text).toContain("ratings-edge caller reviews → cancelled: the caller gave up after 2501 ms");
  });

  it("trace shows a cancelled span as cancelled and a mirror's copy as (mirror)", () => {
    const span = {
      traceId: "t",
      service: "reviews",
      name: "GET /reviews/0",
      startMs: 0,
      durationMs: 10,
      attributes: {},
    };
    const text = waterfall([
      { ...span, spanId: "a", edge: "reviews-edge", status: 200 },
      { ...span, spanId: "b", parentSpanId: "a", edge: "reviews-edge", status: 200, attributes: { mirror: true } },
      { ...span, spanId: "c", parentSpanId: "a", edge: "ratings-edge", status: 0 },
    ]);
    expect(text).toMatch(/^ {2}reviews-edge GET \/reviews\/0 \(mirror\) +200/m);
    expect(text).toMatch(/^ {2}ratings-edge GET \/reviews\/0 +cancelled/m);
  });

  it("stat shows the gateway's row first, with the requests it refused before reaching any service", () => {
    const g = { requests: 80, rps: 1.333, successRate: 1, p50: 2, p95: 4, p99: 6, retries: 0, cancelled: 0 };
    const text = statTable({
      gateway: { ...g, refused: 20 },
      services: [{ ...g, requests: 60, service: "productpage", versions: [{ ...g, requests: 60, version: "v1" }] }],
    });
    const lines = text.split("\n");
    expect(lines[1]).toMatch(/^gateway +\(ingress\) +1\.333 +100\.0% .* 80 \(20 refused at the gateway\)$/);
    expect(lines[2]).toMatch(/^productpage +\* .* 60$/);
  });
});
