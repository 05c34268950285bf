import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { echoManifest, gatewayRouteTo, startTestMesh, type TestMesh } from "../helpers/mesh.ts";
import { eventually } from "../helpers/eventually.ts";

// Trace sampling (gen traceSampling / dev --trace-sampling): new traces are recorded at the rate,
// a caller's traceparent decision is kept at every hop, and metrics count every request regardless.

let mesh: TestMesh;
beforeAll(async () => {
  mesh = await startTestMesh(echoManifest({ web: ["v1"] }), { gen: { traceSampling: 0 } });
  await mesh.apply(gatewayRouteTo("web"));
});
afterAll(() => mesh?.stop());

const traceIds = async () =>
  ((await mesh.admin("/v1/traces?limit=200")).json().traces as { traceId: string }[]).map((t) => t.traceId);

describe("trace sampling", () => {
  it("records no span for unsampled new traces, but keeps a caller's sampled decision end to end", async () => {
    for (let i = 0; i < 10; i++) expect((await mesh.get("/")).status).toBe(200);
    const sampled = "5bf92f3577b34da6a3ce929d0e0e4736";
    await mesh.get("/", { headers: { traceparent: `00-${sampled}-00f067aa0ba902b7-01` } });
    await mesh.get("/", { headers: { traceparent: "00-6bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00" } });
    const spans: { edge: string }[] = await eventually(
      async () => {
        const res = await mesh.admin(`/v1/traces/${sampled}`);
        return res.status === 200 ? res.json().spans : [];
      },
      (v) => v.length >= 2,
    );
    expect(spans.map((s) => s.edge).sort()).toEqual(["gateway", "web-edge"]);
    expect(await traceIds()).toEqual([sampled]);
    // Metrics count every request, sampled or not (they arrive in per-second batches: poll).
    const counted = async () => {
      const line = (await mesh.admin("/metrics")).body
        .split("\n")
        .find(
          (l) =>
            l.startsWith("isomesh_requests_total{") &&
            l.includes('reporter="web-edge"') &&
            l.includes('response_code="200"'),
        );
      return Number(line?.split(" ").pop() ?? 0);
    };
    expect(await eventually(counted, (n) => n >= 12)).toBe(12);
  });
});
