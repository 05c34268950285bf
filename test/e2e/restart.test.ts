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
  const admin = (d: DevProcess, path: string, init: { method?: string; body?: string } = {}) => http(`http://127.0.0.1:${d.adminPort}${path}`, { ...init, headers: { authorization: `Bearer ${d.token}` } });
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
