import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, expect, it } from "vitest";
import { eventually } from "../helpers/eventually.ts";
import { echoManifest, gatewayRouteTo, startTestMesh, type TestMesh } from "../helpers/mesh.ts";

let mesh: TestMesh;
let collector: Server;
const received: any[] = [];

beforeAll(async () => {
  collector = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push({ path: req.url, type: req.headers["content-type"], body: JSON.parse(body) });
      res.end("{}");
    });
  });
  await new Promise<void>((r) => collector.listen(0, "127.0.0.1", r));
  const port = (collector.address() as { port: number }).port;
  mesh = await startTestMesh(echoManifest({ web: ["v1"] }), {
    gen: { otlpEndpoint: `http://127.0.0.1:${port}/v1/traces` },
  });
  await mesh.apply(gatewayRouteTo("web"));
});
afterAll(async () => {
  await mesh?.stop();
  collector?.close();
});

it("exports spans to an OTLP/HTTP collector in batches", async () => {
  await mesh.get("/x", { headers: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" } });
  const count = () =>
    received.reduce((n, r) => n + (JSON.stringify(r.body).match(/0af7651916cd43dd8448eb211c80319c/g)?.length ?? 0), 0);
  await eventually(count, (n) => n >= 2, { what: "both hops' spans of the trace at the collector", every: 100 });
  const spans = received.flatMap((r) =>
    r.body.resourceSpans.flatMap((rs: any) =>
      rs.scopeSpans.flatMap((ss: any) =>
        ss.spans.map((s: any) => ({ ...s, service: rs.resource.attributes[0].value.stringValue })),
      ),
    ),
  );
  const mine = spans.filter((s) => s.traceId === "0af7651916cd43dd8448eb211c80319c");
  expect(received[0].path).toBe("/v1/traces");
  expect(received[0].type).toBe("application/json");
  expect(mine.map((s) => s.service).sort()).toEqual(["gateway", "web"]);
  const gw = mine.find((s) => s.service === "gateway");
  expect(gw.parentSpanId).toBe("b7ad6b7169203331");
  expect(mine.find((s) => s.service === "web").parentSpanId).toBe(gw.spanId);
  expect(BigInt(gw.endTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(gw.startTimeUnixNano));
});
