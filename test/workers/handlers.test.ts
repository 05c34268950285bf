import { resolve } from "node:path";
import { WebSocket } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INLINE } from "../helpers/data-plane.ts";
import { eventually } from "../helpers/eventually.ts";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";

// Handlers other than fetch, and what fetch carries besides a plain answer, in both data planes
// (ISOMESH_TEST_DATA_PLANE): an app's queue consumer and cron trigger call a meshed service (inline,
// through the client in their env); a WebSocket upgrade and a streamed body pass the mesh; the app's
// own Durable Object and named entrypoint survive the generated entry module.
let mesh: TestMesh;
beforeAll(async () => {
  mesh = await startTestMesh(`name: handlers
services:
  - name: front
    versions: [{ name: v1, worker: ${resolve("test/fixtures/inline-handlers/front")} }]
    calls: [back]
  - name: back
    versions: [{ name: v1, worker: ${resolve("test/fixtures/inline-handlers/back/index.ts")} }]
`);
  await mesh.apply(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: gw }
spec:
  parentRefs: [{ name: gateway }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /ws } }, { path: { type: PathPrefix, value: /direct } }]
      backendRefs: [{ name: back }]
    - backendRefs: [{ name: front }]
`);
});
afterAll(() => mesh?.stop());

const result = async (key: string) => (await mesh.get(`/result?key=${key}`)).body;

describe(`handlers in the ${INLINE ? "inline" : "edge"} data plane`, () => {
  it("fetch: the callee learns its caller from the binding", async () => {
    const res = await mesh.get("/hello");
    expect(res.status).toBe(200);
    expect(res.body).toBe("back caller=front");
    expect(res.headers["x-isomesh-backend"]).toBe("front/v1");
  });

  it("the app's env holds its own bindings and its callees, never the mesh's own", async () => {
    const keys = (await mesh.get("/env")).json() as string[];
    expect(keys).toEqual(expect.arrayContaining(["BACK", "STORE", "JOBS", "TALLY", "SERVICE", "VERSION"]));
    expect(keys.filter((k) => k.startsWith("ISOMESH_"))).toEqual([]);
  });

  it("queue: a consumer's calls go through the mesh", async () => {
    expect((await mesh.get("/enqueue?id=7")).body).toBe("queued");
    expect(
      await eventually(
        () => result("queue:7"),
        (v) => v !== "none",
      ),
    ).toBe("200 back/v1 back?from=queue caller=front");
  });

  it("scheduled: a cron trigger's calls go through the mesh", async () => {
    const front = await mesh.miniflare.getWorker(mesh.workerName("front-v1"));
    await front.scheduled({ cron: "*/5 * * * *" });
    expect(
      await eventually(
        () => result("cron"),
        (v) => v !== "none",
      ),
    ).toBe("200 back/v1 back?from=cron caller=front");
  });

  it("the app's own Durable Object class is still exported (its binding works)", async () => {
    const first = Number((await mesh.get("/tally")).body);
    expect(Number((await mesh.get("/tally")).body)).toBe(first + 1);
  });

  it("a streamed body arrives whole, east-west and north-south; a request body reaches the callee", async () => {
    expect((await mesh.get("/stream")).body).toBe("chunk0\nchunk1\nchunk2\n");
    const up = await mesh.get("/upload", { method: "POST", body: "x".repeat(5000) });
    expect(up.body).toBe("got 5000 bytes");
  });

  it("a WebSocket upgrade through the gateway reaches the app and echoes", async () => {
    const ws = new WebSocket(`${mesh.gatewayUrl.replace("http", "ws")}/ws`);
    const echoed = await new Promise<string>((done, fail) => {
      ws.addEventListener("open", () => ws.send("hi"));
      ws.addEventListener("message", (e) => done(String(e.data)));
      ws.addEventListener("error", () => fail(new Error("websocket failed")));
      setTimeout(() => fail(new Error("no echo within 10 s")), 10_000);
    });
    ws.close();
    expect(echoed).toBe("echo hi");
  });
});
