import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../helpers/eventually.ts";
import { startTestMesh, type TestMesh, VIEWER_TOKEN } from "../helpers/mesh.ts";

// Every edge records every request it received (issue 18): those whose caller gave up, the copies
// a RequestMirror sends, and what it recorded reaches the control plane with no more traffic.

const forwarder = resolve("test/helpers/forwarder.ts");
let mesh: TestMesh;
/**
 * Stands for a slow dependency: holds each request to /hold open (noting when its caller hangs up);
 * /release/ID answers when the test calls release(ID), the moment a hop is told to give up.
 */
let hold: Server;
let holdUrl: string;
let releaseUrl: string;
const held: { id: string; closed: boolean }[] = [];
const arrivals = new Map<string, () => void>();
const releases = new Map<string, () => void>();
const release = (id: string) => releases.get(id)?.();

beforeAll(async () => {
  hold = createServer((req: IncomingMessage, res) => {
    if (req.url?.startsWith("/release/")) return releases.set(req.url.slice("/release/".length), () => res.end("now"));
    const id = String(req.headers["x-request-id"]);
    const entry = { id, closed: false };
    held.push(entry);
    res.on("close", () => (entry.closed = true));
    arrivals.get(id)?.();
  });
  await new Promise<void>((r) => hold.listen(0, "127.0.0.1", r));
  holdUrl = `http://127.0.0.1:${(hold.address() as AddressInfo).port}/hold`;
  releaseUrl = `http://127.0.0.1:${(hold.address() as AddressInfo).port}/release/`;
  mesh = await startTestMesh(`name: complete
services:
  - name: front
    versions: [{ name: v1, worker: ${forwarder} }]
    calls: [back]
  - name: back
    versions:
      - { name: v1, worker: ${forwarder} }
      - { name: v2, echo: { delayMs: 300 } }
`);
  await mesh.apply(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: front }
spec:
  parentRefs: [{ name: gateway }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /impatient } }]
      backendRefs: [{ name: front }]
      timeouts: { request: 400ms }
    - backendRefs: [{ name: front }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: back }
spec:
  parentRefs: [{ kind: Service, name: back }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /mirrored } }]
      filters:
        - type: RequestMirror
          requestMirror: { backendRef: { name: back, version: v2 } }
      backendRefs: [{ name: back, version: v1 }]
    - backendRefs: [{ name: back, version: v1 }]
`);
});
afterAll(async () => {
  await mesh?.stop();
  for (const r of releases.values()) r();
  hold?.closeAllConnections();
  hold?.close();
});

const hex = (bytes: number) =>
  [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
const accessLog = (requestId: string) =>
  mesh.logs
    .filter((l) => l.includes('"type":"access"') && l.includes(`"requestId":"${requestId}"`))
    .map((l) => JSON.parse(l.slice(l.indexOf("{"))));
const byEdge = <T extends { edge: string }>(items: T[]) => Object.fromEntries(items.map((i) => [i.edge, i]));
const trace = async (id: string) => {
  const res = await mesh.admin(`/v1/traces/${id}`);
  return res.status === 200
    ? (res.json().spans as {
        edge: string;
        spanId: string;
        parentSpanId?: string;
        status: number;
        durationMs: number;
        attributes: Record<string, unknown>;
      }[])
    : [];
};

describe("a request whose caller gave up", () => {
  const requestId = `gone-${hex(4)}`;
  const traceId = hex(16);
  let explainId: string;

  beforeAll(async () => {
    // gateway → front-edge → front app → back-edge → back app → (held open); once the last hop is
    // reached, the front app gives up on its call to back, as reviews gives up on ratings after 2.5 s.
    const reached = new Promise<void>((r) => arrivals.set(requestId, r));
    const res = mesh.get("/", {
      headers: {
        "x-request-id": requestId,
        traceparent: `00-${traceId}-${hex(8)}-01`,
        "x-isomesh-debug": VIEWER_TOKEN,
        "x-forward-to": "BACK,FETCH",
        "x-forward-url": holdUrl,
        "x-forward-cancel-when": releaseUrl + requestId,
      },
    });
    await reached;
    await eventually(async () => releases.has(requestId), Boolean, { what: "the front app waiting on its release" });
    release(requestId);
    const answer = await res;
    expect(answer.status).toBe(504); // the front app's own answer when it gives up
    explainId = answer.headers["x-isomesh-explain"];
  });

  it("is recorded by the edge whose caller gave up, with code 0, caller_cancelled and the time until then", async () => {
    const lines = await eventually(
      async () => accessLog(requestId),
      (l) => l.length === 3,
    );
    const edges = byEdge(lines);
    expect(Object.keys(edges).sort()).toEqual(["back-edge", "front-edge", "gateway"]);
    expect(edges["back-edge"]).toMatchObject({
      status: 0,
      traceId,
      caller: "front",
      backend: "back/v1",
      route: "back/1",
      flags: ["caller_cancelled"],
    });
    expect(edges["back-edge"].durationMs).toBeGreaterThanOrEqual(0);
    expect(edges["front-edge"]).toMatchObject({ status: 504, backend: "front/v1" });
    expect(edges.gateway).toMatchObject({ status: 504 });
    // The edge passed the cancellation on to its app's call, and the app to its own call.
    await eventually(
      async () => held.find((h) => h.id === requestId)?.closed,
      (closed) => closed === true,
      { what: "the held upstream call closed by the cancellation" },
    );
  });

  it("has its span in the trace and its hop in the decision record (explain --send)", async () => {
    const spans = await eventually(
      () => trace(traceId),
      (s) => s.length === 3,
    );
    expect(spans.map((s) => [s.edge, s.status, s.attributes.cancelled ?? false]).sort()).toEqual([
      ["back-edge", 0, true],
      ["front-edge", 504, false],
      ["gateway", 504, false],
    ]);
    type Hop = { edge: string; status: number; durationMs: number; decisions: { stage: string }[]; children: Hop[] };
    const hops = await eventually(
      async () =>
        (await mesh.admin(`/v1/explain/${explainId}`, { token: VIEWER_TOKEN })).json().hops as Hop[] | undefined,
      (h) => h?.[0]?.children?.[0]?.children?.length === 1,
    );
    const [gateway] = hops!;
    const back = gateway.children[0].children[0];
    expect([gateway.edge, gateway.children[0].edge, back.edge]).toEqual(["gateway", "front-edge", "back-edge"]);
    expect([gateway.status, gateway.children[0].status, back.status]).toEqual([504, 504, 0]);
    expect(back.decisions.map((d) => d.stage)).toContain("cancel");
  });

  it("counts in metrics, stats and the graph as cancelled, not as a success", async () => {
    const stats = await eventually(
      async () => (await mesh.admin("/v1/stats?service=back&window=5m")).json(),
      (s) => s.services[0].cancelled >= 1,
    );
    const v1 = stats.services[0].versions.find((v: { version: string }) => v.version === "v1");
    expect(v1.cancelled).toBeGreaterThanOrEqual(1);
    expect(v1.successRate).toBeLessThan(1);
    const metrics = (await mesh.admin("/metrics")).body;
    expect(metrics).toMatch(
      /isomesh_requests_total\{reporter="back-edge",source_workload="front",destination_service="back",destination_version="v1",route="back",response_code="0"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /isomesh_request_flags_total\{reporter="back-edge",source_workload="front",destination_service="back",destination_version="v1",flag="caller_cancelled"\} [1-9]/,
    );
    const graph = (await mesh.admin("/v1/graph")).json();
    expect(
      graph.edges.find((e: { source: string; target: string }) => e.source === "front" && e.target === "back")
        .cancelled,
    ).toBeGreaterThanOrEqual(1);
  });
});

describe("a route timeout upstream", () => {
  it("leaves a record at every hop behind it, each once: cancelled, or timed out on the deadline it was given", async () => {
    const requestId = `slow-${hex(4)}`;
    const reached = new Promise<void>((r) => arrivals.set(requestId, r));
    const res = mesh.get("/impatient", {
      headers: { "x-request-id": requestId, "x-forward-to": "BACK,FETCH", "x-forward-url": holdUrl },
    });
    await reached;
    expect((await res).status).toBe(504);
    const lines = await eventually(
      async () => accessLog(requestId),
      (l) => l.length === 3,
    );
    const edges = byEdge(lines);
    expect(edges.gateway).toMatchObject({ status: 504, flags: ["timed_out"] });
    for (const edge of ["front-edge", "back-edge"]) {
      expect([0, 504]).toContain(edges[edge].status);
      expect(edges[edge].durationMs).toBeLessThan(5000);
    }
    expect(lines).toHaveLength(3);
  });
});

describe("a mirrored request", () => {
  const requestId = `copy-${hex(4)}`;
  const traceId = hex(16);

  beforeAll(async () => {
    const res = await mesh.get("/mirrored/x", {
      headers: { "x-request-id": requestId, traceparent: `00-${traceId}-${hex(8)}-01`, "x-forward-to": "BACK" },
    });
    expect(res.status).toBe(200);
    expect(res.json().app).toBe("back"); // answered by v1; the copy's answer (300 ms later) goes nowhere
  });

  it("reaches the control plane with no more traffic, though its answer came after everything else was sent", async () => {
    // Nothing is sent after the one request: an idle edge must still deliver (it used to keep records until its next request).
    const stats = await eventually(
      async () => (await mesh.admin("/v1/stats?service=back&window=5m")).json(),
      (s) => s.services[0].mirrored.length > 0,
      { ms: 5000, what: "the mirrored copy in back's stats" },
    );
    expect(stats.services[0].mirrored[0]).toMatchObject({ version: "v2", requests: 1 });
  });

  it("is in the access log arriving at v2, marked mirror", async () => {
    const copy = (
      await eventually(
        async () => accessLog(requestId),
        (l) => l.some((x) => x.mirror),
      )
    ).find((x) => x.mirror);
    expect(copy).toMatchObject({
      edge: "back-edge",
      backend: "back/v2",
      status: 200,
      mirror: true,
      caller: "front",
      route: "back/0",
    });
    expect(copy.flags).toContain("mirror");
    expect(copy.durationMs).toBeGreaterThanOrEqual(300);
    const original = accessLog(requestId).find((x) => x.edge === "back-edge" && !x.mirror);
    expect(original).toMatchObject({ backend: "back/v1", status: 200 });
    expect(original.flags).toContain("mirrored");
  });

  it("has a span of its own, a child of the request it copies", async () => {
    const spans = await eventually(
      () => trace(traceId),
      (s) => s.some((x) => x.attributes.mirror === true),
    );
    const copy = spans.find((s) => s.attributes.mirror === true)!;
    const original = spans.find((s) => s.edge === "back-edge" && s.attributes.mirror !== true)!;
    expect(copy).toMatchObject({
      edge: "back-edge",
      status: 200,
      parentSpanId: original.spanId,
      attributes: { backend: "back/v2" },
    });
  });

  it('shows in stat as v2\'s mirrored traffic, apart from the traffic callers wait for, and in metrics with mirror="true"', async () => {
    const stats = (await mesh.admin("/v1/stats?service=back&window=5m")).json();
    const back = stats.services[0];
    expect(back.mirrored).toEqual([expect.objectContaining({ version: "v2", requests: 1, successRate: 1 })]);
    expect(back.versions.find((v: { version: string }) => v.version === "v2").requests).toBe(0);
    const metrics = (await mesh.admin("/metrics")).body;
    expect(metrics).toMatch(
      /isomesh_requests_total\{reporter="back-edge",source_workload="front",destination_service="back",destination_version="v2",route="back",response_code="200",mirror="true"\} 1/,
    );
    const graph = (await mesh.admin("/v1/graph")).json();
    expect(
      graph.edges.filter((e: { source: string; target: string }) => e.source === "front" && e.target === "back"),
    ).toHaveLength(1);
  });

  it("is believed only from the gateway: an app cannot pass its calls off as copies to hide them from stats", async () => {
    const requestId = `spoof-${hex(4)}`;
    const res = await mesh.get("/x", {
      headers: { "x-request-id": requestId, "x-forward-to": "BACK", "x-forward-header": "x-isomesh-mirror: 1" },
    });
    expect(res.status).toBe(200);
    const line = (
      await eventually(
        async () => accessLog(requestId),
        (l) => l.some((x) => x.edge === "back-edge"),
      )
    ).find((x) => x.edge === "back-edge");
    expect(line.mirror).toBeUndefined();
    expect(line.backend).toBe("back/v1");
  });
});
