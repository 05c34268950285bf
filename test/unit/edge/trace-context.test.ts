import { describe, expect, it } from "vitest";
import { compileFor, testEdge } from "../../helpers/edge.ts";

// The trace context a client sends the gateway: the isomesh entry of tracestate asks every hop to
// record its decisions (explain), which only the mesh's own tools may ask for.

const manifest = `name: tc
services:
  - { name: web, versions: [{ name: v1, echo: true }] }
`;
const routes = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web }
spec:
  parentRefs: [{ name: gateway }]
  rules: [{ backendRefs: [{ name: web }] }]
`;

describe("a client's trace context at the gateway", () => {
  const gateway = () => testEdge(compileFor(manifest, "gateway", routes));

  it("a forged isomesh tracestate entry without a traceparent is not passed on (the vendor's entries are)", async () => {
    const edge = gateway();
    const res = await edge.request("/", { caller: "", headers: { tracestate: "isomesh=explain,vendor=1" } });
    expect(res.status).toBe(200);
    const sent = edge.sent[0].request.headers;
    expect(sent.get("tracestate") ?? "").not.toContain("isomesh=");
    expect(sent.get("traceparent")).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
  });

  it("nor with one", async () => {
    const edge = gateway();
    await edge.request("/", {
      caller: "",
      headers: {
        traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        tracestate: "isomesh=explain,vendor=1",
      },
    });
    expect(edge.sent[0].request.headers.get("tracestate")).toBe("vendor=1");
  });
});
