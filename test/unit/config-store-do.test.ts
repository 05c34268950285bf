import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { MetricSeries } from "../../shared/control-api.ts";
import { configRoutes } from "../../workers/control/api/config.ts";
import { rolloutRoutes } from "../../workers/control/api/rollouts.ts";
import { ConfigStore } from "../../workers/control/config-store/config-store.ts";
import type { ControlEnv } from "../../workers/control/env.ts";
import { Telemetry } from "../../workers/control/telemetry/telemetry.ts";
import { memoryKv } from "../helpers/config-store.ts";
import { type TestState, testState } from "../helpers/durable-object.ts";

// The ConfigStore Durable Object and its admin routes in process (as hono tests with
// app.request): its storage is SQLite in WebAssembly, its alarm is fired by calling alarm() at
// the time it was set for (what workers-sdk's runDurableObjectAlarm does), the clock is faked.

const EDITOR = "editor-token-0123456789";
const VIEWER = "viewer-token-0123456789";
const T0 = Date.UTC(2026, 5, 1);

let env: ControlEnv;
let store: ConfigStore;
let state: TestState;
let telemetry: Telemetry;

beforeEach(async () => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(T0);
  const topology = {
    mesh: "t",
    services: [
      { name: "web", versions: ["v1", "v2"], calls: [] },
      { name: "api", versions: ["v1"], calls: [] },
    ],
  };
  env = {
    TOPOLOGY: JSON.stringify(topology),
    SNAPSHOTS: memoryKv(),
    ADMIN_TOKENS: JSON.stringify([
      { name: "alice", token: EDITOR, role: "editor" },
      { name: "viewer", token: VIEWER, role: "viewer" },
    ]),
  } as unknown as ControlEnv;
  telemetry = new Telemetry((await testState()).ctx, env);
  env.TELEMETRY = { getByName: () => telemetry } as never;
  state = await testState();
  store = new ConfigStore(state.ctx, env);
  await state.ready();
  env.CONFIG_STORE = { getByName: () => store } as never;
});
afterEach(() => vi.useRealTimers());

const call = async (routes: typeof configRoutes, method: string, path: string, body?: string, token = EDITOR) => {
  const res = await routes.request(path, { method, body, headers: { authorization: `Bearer ${token}` } }, env);
  return { status: res.status, json: async () => (await res.json()) as any };
};

const canary = `apiVersion: isomesh.dev/v1
kind: Rollout
metadata: { name: web-canary }
spec:
  targetRef: { kind: Service, name: web }
  stable: v1
  canary: v2
  steps: [10, 50]
  interval: 30s
  analysis: { minRequests: 10 }
`;
const served = (version: string, count: number, code = 200): MetricSeries => ({
  reporter: "web-edge",
  source: "gateway",
  destination: "web",
  version,
  route: "r",
  code,
  count,
  sumMs: count,
  buckets: [count],
  retries: 0,
  flags: {},
});

describe("ConfigStore Durable Object", () => {
  it("arms its alarm for a Rollout's first analysis, and the alarm takes the step on the canary's metrics", async () => {
    expect((await call(configRoutes, "POST", "/v1/apply", canary)).status).toBe(200);
    expect(state.alarm()).toBe(T0 + 30_000);
    telemetry.ingest([served("v2", 40), served("v1", 360)], T0 + 5_000);

    vi.setSystemTime(state.alarm()!);
    await store.alarm();
    const rollout = await (await call(rolloutRoutes, "GET", "/v1/rollouts/web-canary", undefined, VIEWER)).json();
    expect(rollout.status).toMatchObject({
      phase: "Progressing",
      step: 2,
      weight: 50,
      lastAnalysis: { requests: 40, successRate: 100 },
    });
    expect(state.alarm()).toBe(T0 + 60_000);
    const entry = await (await call(configRoutes, "GET", "/v1/history/2", undefined, VIEWER)).json();
    expect(entry).toMatchObject({
      version: 2,
      by: "rollout/web-canary",
      changes: [{ op: "weights" }],
      resources: [{ before: { status: { weight: 10 } }, after: { status: { weight: 50 } } }],
    });
  });

  it("writes a waiting step as status only: same version, no history entry", async () => {
    await call(configRoutes, "POST", "/v1/apply", canary);
    vi.setSystemTime(state.alarm()!);
    await store.alarm();
    expect(store.list("Rollout")[0]).toMatchObject({
      status: { message: "waiting: 0 of 10 canary requests since step 1 began (inconclusive 1 of 5)", inconclusive: 1 },
    });
    expect(store.version()).toBe(1);
    expect(await (await call(configRoutes, "GET", "/v1/history")).json()).toMatchObject({ entries: [{ version: 1 }] });
  });

  it("answers GET /v1/history/{version} to viewers, 404 with errors for a version it does not have", async () => {
    await call(configRoutes, "POST", "/v1/apply", canary);
    const ok = await call(configRoutes, "GET", "/v1/history/1", undefined, VIEWER);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({
      version: 1,
      by: "alice",
      resources: [
        { kind: "Rollout", name: "web-canary", before: null, after: { kind: "Rollout", spec: { canary: "v2" } } },
      ],
    });
    for (const v of ["2", "x", "1.5"]) {
      const missing = await call(configRoutes, "GET", `/v1/history/${v}`, undefined, VIEWER);
      expect(missing.status).toBe(404);
      expect((await missing.json()).errors[0]).toMatchObject({ resource: "version", path: "version" });
    }
  });

  it("reports an edge no isolate runs as idle, one that reported as synced", async () => {
    const hash = (await (await call(configRoutes, "GET", "/v1/status", undefined, VIEWER)).json()).edges.find(
      (e: { edge: string }) => e.edge === "web-edge",
    ).hash;
    store.report({ edge: "web-edge", isolate: "i1", version: 0, hash, state: "synced" });
    const status = await (await call(configRoutes, "GET", "/v1/status", undefined, VIEWER)).json();
    expect(status.edges.map((e: { edge: string; state: string }) => `${e.edge}:${e.state}`)).toEqual([
      "gateway:idle",
      "web-edge:synced",
      "api-edge:idle",
    ]);
    expect(status.converged).toBe(1);
  });

  it("applies only the defaults that are new (POST /v1/apply?defaults=true)", async () => {
    const route = (name: string) =>
      JSON.stringify({
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "HTTPRoute",
        metadata: { name },
        spec: { parentRefs: [{ name: "gateway" }], rules: [{ backendRefs: [{ name: "web" }] }] },
      });
    expect(await (await call(configRoutes, "POST", "/v1/apply?defaults=true", `[${route("a")}]`)).json()).toMatchObject(
      { version: 1 },
    );
    expect(await (await call(configRoutes, "POST", "/v1/apply?defaults=true", `[${route("a")}]`)).json()).toEqual({
      skipped: "no new defaults",
    });
    expect(
      await (await call(configRoutes, "POST", "/v1/apply?defaults=true", `[${route("a")}, ${route("b")}]`)).json(),
    ).toMatchObject({ version: 2, changes: [{ name: "b", op: "added" }] });
  });
});
