import { afterEach, beforeEach, expect, it } from "vitest";
import { configRoutes } from "../../workers/control/api/config.ts";
import { ConfigStore } from "../../workers/control/config-store/config-store.ts";
import { builtInDefaults } from "../../workers/control/config-store/manifest-defaults.ts";
import type { ControlEnv } from "../../workers/control/env.ts";
import { memoryKv } from "../helpers/config-store.ts";
import { testState } from "../helpers/durable-object.ts";
import { testStorage } from "../helpers/sql-storage.ts";

// A deployed control plane has no CLI to apply the manifest's defaults: `gen` builds them in
// (the __ISOMESH_DEFAULTS__ define) and the ConfigStore applies them on start. Without this the
// first `isomesh apply` in production published snapshots without the defaults' routes.

const TOKEN = "editor-token-0123456789";
const route = (name: string) => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "HTTPRoute",
  metadata: { name },
  spec: { parentRefs: [{ name: "gateway" }], rules: [{ backendRefs: [{ name: "web" }] }] },
});
const g = globalThis as { __ISOMESH_DEFAULTS__?: string };
let env: ControlEnv;

beforeEach(() => {
  env = {
    TOPOLOGY: JSON.stringify({ mesh: "t", services: [{ name: "web", versions: ["v1"], calls: [] }] }),
    SNAPSHOTS: memoryKv(),
    ADMIN_TOKENS: JSON.stringify([{ name: "ops", token: TOKEN, role: "editor" }]),
  } as unknown as ControlEnv;
});
afterEach(() => delete g.__ISOMESH_DEFAULTS__);

async function start(storage: Awaited<ReturnType<typeof testStorage>>) {
  const state = await testState(storage);
  const store = new ConfigStore(state.ctx, env);
  await state.ready();
  env.CONFIG_STORE = { getByName: () => store } as never;
  return store;
}
const api = async (method: string, path: string, body?: string) =>
  (
    await configRoutes.request(path, { method, body, headers: { authorization: `Bearer ${TOKEN}` } }, env)
  ).json() as Promise<any>;

it("applies the built-in defaults on a store's first start, as version 1 by the manifest", async () => {
  g.__ISOMESH_DEFAULTS__ = JSON.stringify([route("web")]);
  const store = await start(await testStorage());
  expect(store.version()).toBe(1);
  expect(store.list("HTTPRoute").map((d) => d.metadata.name)).toEqual(["web"]);
  expect((await api("GET", "/v1/history")).entries[0]).toMatchObject({ version: 1, by: "manifest", note: "defaults" });
});

it("keeps them through the first apply, applies nothing twice, and does not bring back a deleted default", async () => {
  g.__ISOMESH_DEFAULTS__ = JSON.stringify([route("web"), route("other")]);
  const storage = await testStorage();
  const store = await start(storage);
  expect((await api("POST", "/v1/apply", JSON.stringify(route("extra")))).version).toBe(2);
  expect(
    store
      .list("HTTPRoute")
      .map((d) => d.metadata.name)
      .sort(),
  ).toEqual(["extra", "other", "web"]);
  await api("DELETE", "/v1/resources/HTTPRoute/other");
  const restarted = await start(storage);
  expect(
    restarted
      .list("HTTPRoute")
      .map((d) => d.metadata.name)
      .sort(),
  ).toEqual(["extra", "web"]);
  expect(restarted.version()).toBe(3);
});

it("applies none when they are invalid, and says why in the log", () => {
  expect(builtInDefaults("not json")).toEqual([]);
  expect(builtInDefaults(JSON.stringify([{ ...route("x"), spec: { rules: "no" } }]))).toEqual([]);
  expect(builtInDefaults(undefined)).toEqual([]);
});
