import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";
import { eventually } from "../helpers/eventually.ts";

// Apps reach external hosts only through the egress edge, and only those an ExternalService declares.
// The "outside world" here is a node:http server on 127.0.0.1 (reachable as localhost and 127.0.0.1).
// The allow-list's decisions (hosts, ports, schemes, the Host header, policies) are tested in
// process (test/unit/edge/egress.test.ts); here: real sockets, apps' bindings, dev's fetch capture, telemetry.

const forwarder = resolve("test/helpers/forwarder.ts");
let mesh: TestMesh;
let external: Server;
let port: number;
const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
const failures = new Map<string, number>();

beforeAll(async () => {
  external = createServer((req, res) => {
    seen.push({ url: req.url ?? "", headers: req.headers });
    const key = String(req.headers["x-key"] ?? "");
    const fail = Number(req.headers["x-fail-times"] ?? 0);
    const n = (failures.get(key) ?? 0) + 1;
    failures.set(key, n);
    const delay = Number(req.headers["x-delay-ms"] ?? 0);
    setTimeout(() => {
      res.setHeader("content-type", "application/json");
      res.setHeader("x-isomesh-backend", "forged/by-the-outside");
      res.statusCode = key && n <= fail ? 503 : 200;
      res.end(JSON.stringify({ external: true, path: req.url, host: req.headers.host }));
    }, delay);
  });
  await new Promise<void>((r) => external.listen(0, "127.0.0.1", r));
  port = (external.address() as AddressInfo).port;
  mesh = await startTestMesh(`name: egr
services:
  - name: shop
    versions: [{ name: v1, worker: ${forwarder} }]
    egress: true
  - name: intruder
    versions: [{ name: v1, worker: ${forwarder} }]
    egress: true
  - name: plain
    versions: [{ name: v1, worker: ${forwarder} }]
`);
  await mesh.apply(`
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: front }
spec:
  parentRefs: [{ name: gateway }]
  rules:
    - matches: [{ headers: [{ name: x-app, value: intruder }] }]
      backendRefs: [{ name: intruder }]
    - matches: [{ headers: [{ name: x-app, value: plain }] }]
      backendRefs: [{ name: plain }]
    - backendRefs: [{ name: shop }]
`);
});
afterAll(async () => {
  await mesh?.stop();
  external?.close();
});

/** Has the shop app call `url` through its EGRESS binding (via the gateway and shop's edge). */
const callOut = (url: string, headers: Record<string, string> = {}) =>
  mesh.get("/", { headers: { "x-forward-to": "EGRESS", "x-forward-url": url, ...headers } });
const declare = (spec: string, name = "books") =>
  mesh.apply(`apiVersion: isomesh.dev/v1\nkind: ExternalService\nmetadata: { name: ${name} }\nspec:\n${spec}`);

describe("egress: the allow-list", () => {
  it("lets a declared host and port through, without leaking mesh headers", async () => {
    await declare(`  hosts: [localhost]\n  ports: [{ number: ${port}, protocol: HTTP }]`);
    const res = await callOut(`http://localhost:${port}/v1/books?q=1`, { "x-isomesh-principal": "spoofed" });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ external: true, path: "/v1/books?q=1", host: `localhost:${port}` });
    const got = seen.find((s) => s.url === "/v1/books?q=1")!;
    expect(Object.keys(got.headers).filter((h) => h.startsWith("x-isomesh-"))).toEqual([]);
    expect(got.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    expect(got.headers["x-request-id"]).toBeTruthy();
  });

  it("is reachable only through a binding: a service without egress has none", async () => {
    const res = await callOut(`http://localhost:${port}/x`, { "x-app": "plain" });
    expect(res.status).toBe(599);
    expect(res.body).toContain("no binding EGRESS");
  });
});

describe("egress: an app's global fetch (captured by isomesh dev)", () => {
  const fetchOut = (url: string, headers: Record<string, string> = {}) =>
    mesh.get("/", { headers: { "x-forward-to": "FETCH", "x-forward-url": url, ...headers } });

  it("goes through the egress edge like an EGRESS call, with a warning that production would bypass it", async () => {
    const res = await fetchOut(`http://localhost:${port}/captured`);
    expect(res.status).toBe(200);
    expect(
      seen.some((s) => s.url === "/captured" && !Object.keys(s.headers).some((h) => h.startsWith("x-isomesh-"))),
    ).toBe(true);
    expect(mesh.logs.some((l) => l.includes("shop called http://localhost:") && l.includes("env.EGRESS.fetch"))).toBe(
      true,
    );
    const denied = await fetchOut("http://127.0.0.1:9/elsewhere");
    expect(denied.status).toBe(403);
    expect(denied.json().error).toMatchObject({
      code: "egress_denied",
      hint: expect.stringContaining("env.EGRESS.fetch"),
    });
  });

  it("is denied for a service that does not declare egress", async () => {
    const res = await fetchOut(`http://localhost:${port}/captured`, { "x-app": "plain" });
    expect(res.status).toBe(403);
    expect(res.json().error.message).toBe(
      `plain called http://localhost:${port} with the global fetch, and its service does not declare egress: true`,
    );
  });
});

describe("egress: policies and telemetry", () => {
  it("drops x-isomesh-* headers an external host answers with", async () => {
    const res = await callOut(`http://localhost:${port}/ok`);
    expect(res.headers["x-isomesh-backend"]).not.toBe("forged/by-the-outside");
  });

  it("counts external calls per caller and ExternalService", async () => {
    expect((await callOut(`http://localhost:${port}/ok`, { "x-app": "intruder" })).status).toBe(200);
    const text = await eventually(
      async () => (await mesh.admin("/metrics")).body,
      // Both calls' counts, which may arrive in different flushes.
      (t) =>
        /isomesh_requests_total\{[^}]*reporter="egress"[^}]*destination_service="books"/.test(t) &&
        /reporter="egress"[^}]*destination_service="unregistered"/.test(t),
    );
    const line = text
      .split("\n")
      .find(
        (l) =>
          l.startsWith("isomesh_requests_total{") &&
          l.includes('reporter="egress"') &&
          l.includes('source_workload="shop"') &&
          l.includes('destination_service="books"') &&
          l.includes('response_code="200"'),
      );
    expect(line).toBeTruthy();
    expect(text).toMatch(/reporter="egress"[^}]*destination_service="unregistered"/);
    const callersOf = (stats: any) =>
      (stats.externals.find((e: { name: string }) => e.name === "books")?.callers ?? [])
        .map((k: { caller: string }) => k.caller)
        .sort();
    const stats = await eventually(
      async () => (await mesh.admin("/v1/stats?window=5m")).json(),
      (v) => callersOf(v).length === 3,
    );
    expect(callersOf(stats)).toEqual(["intruder", "plain", "shop"]);
    expect(stats.externals.map((e: { name: string }) => e.name)).toContain("unregistered");
    const graph = (await mesh.admin("/v1/graph?window=5m")).json();
    expect(graph.edges).toContainEqual(expect.objectContaining({ source: "shop", target: "books" }));
    expect(graph.nodes).toContainEqual(expect.objectContaining({ id: "books", kind: "external-service" }));
  });

  it("shows the egress edge in status, with its snapshot", async () => {
    const status = (await mesh.admin("/v1/status")).json();
    expect(status.edges.map((e: { edge: string }) => e.edge)).toContain("egress");
    const snap = (await mesh.admin("/v1/snapshots/egress")).json();
    expect(snap).toMatchObject({
      role: "egress",
      backends: ["books"],
      externals: [{ name: "books", hosts: ["localhost"] }],
    });
  });
});
