import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { startDev, type DevProcess } from "../helpers/dev-process.ts";
import { http } from "../helpers/http.ts";
import { echoManifest } from "../helpers/mesh.ts";

const dir = mkdtempSync(join(tmpdir(), "isomesh-restart-"));
let dev: DevProcess | undefined;
afterAll(async () => {
  await dev?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it("keeps every acknowledged change across a restart on the same state", async () => {
  writeFileSync(join(dir, "mesh.yaml"), echoManifest({ web: ["v1", "v2"] }));
  const args = { manifest: join(dir, "mesh.yaml"), state: join(dir, "state") };
  dev = await startDev(args);
  const admin = (d: DevProcess, path: string, init: { method?: string; body?: string } = {}) =>
    http(`http://127.0.0.1:${d.adminPort}${path}`, { ...init, headers: { authorization: `Bearer ${d.token}` } });
  const applied = await admin(dev, "/v1/apply?wait=true", {
    method: "POST",
    body: `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: gw }
spec:
  parentRefs: [{ name: gateway }]
  rules: [{ backendRefs: [{ name: web }] }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web }
spec:
  parentRefs: [{ kind: Service, name: web }]
  rules: [{ backendRefs: [{ name: web, version: v2 }] }]
`,
  });
  expect(applied.status).toBe(200);
  expect(await dev.stop("SIGTERM")).toBe(0);

  dev = await startDev(args);
  expect((await admin(dev, "/v1/version")).json().version).toBe(1);
  expect((await admin(dev, "/v1/history")).json().entries).toHaveLength(1);
  for (let i = 0; i < 5; i++) expect((await http(`http://127.0.0.1:${dev.port}/x`)).json().version).toBe("v2");
});

it("reconciles a changed manifest on the same state: new topology, new defaults, what no longer resolves reported", async () => {
  // The state of the test above: HTTPRoute web sends everything to web v2.
  await dev?.stop("SIGTERM");
  writeFileSync(
    join(dir, "api-route.yaml"),
    `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: api }
spec:
  parentRefs: [{ name: gateway }]
  rules: [{ matches: [{ path: { type: PathPrefix, value: /api } }], backendRefs: [{ name: api }] }]
`,
  );
  writeFileSync(
    join(dir, "mesh.yaml"),
    `${echoManifest({ web: ["v1", "v3"], api: ["v1"] })}defaults: [api-route.yaml]\n`,
  );
  dev = await startDev({ manifest: join(dir, "mesh.yaml"), state: join(dir, "state") });
  const admin = async (path: string) =>
    (
      await http(`http://127.0.0.1:${dev!.adminPort}${path}`, { headers: { authorization: `Bearer ${dev!.token}` } })
    ).json();

  expect(dev.output()).toMatch(
    /warning: HTTPRoute\/web spec\.rules\[0\]\.backendRefs\[0\]\.version: unknown version "v2"/,
  );
  expect(dev.output()).toMatch(/applied 1 new default resources/);
  expect((await admin("/v1/snapshots/web-edge")).backends).toEqual(["v1", "v3"]);
  expect((await admin("/v1/snapshots/gateway")).backends).toEqual(["web", "api"]);
  const [defaults, manifest] = (await admin("/v1/history?limit=2")).entries;
  expect(manifest).toMatchObject({
    by: "manifest",
    note: expect.stringMatching(
      /services added: api; versions: web \+v3 -v2; refer to what the manifest no longer has: HTTPRoute\/web/,
    ),
  });
  expect(defaults).toMatchObject({ note: "defaults", changes: [{ kind: "HTTPRoute", name: "api", op: "added" }] });
  expect((await http(`http://127.0.0.1:${dev.port}/api/x`)).json()).toMatchObject({ service: "api", version: "v1" });
});
