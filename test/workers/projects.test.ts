import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { gatewayRouteTo, startTestMesh, type TestMesh } from "../helpers/mesh.ts";

// A Workers project with one binding of every kind, run by isomesh dev from its own wrangler config:
// built by wrangler (alias, module rules, define), converted by wrangler, every binding in its env.
let mesh: TestMesh;
beforeAll(async () => {
  mesh = await startTestMesh(`name: kinds
services:
  - name: web
    versions: [{ name: v1, worker: ${resolve("test/fixtures/all-bindings")} }]
    calls: [api]
  - name: api
    versions: [{ name: v1, echo: true }]
`);
  await mesh.apply(gatewayRouteTo("web"));
});
afterAll(() => mesh?.stop());

it("serves through the gateway with every binding of its config, its build settings and its migrations", async () => {
  const res = await mesh.get("/count");
  expect(res.status).toBe(200);
  expect(res.headers["x-isomesh-backend"]).toBe("web/v1");
  const body = res.json();
  // API_KEY (a required secret) comes from the app's own .dev.vars, as under `wrangler dev`.
  expect(body).toMatchObject({
    greeting: "hello hello",
    notes: "# notes\n",
    build: "build-42",
    migrated: true,
    apiKey: "from-dev-vars",
  });
  expect(body.env).toEqual([
    "AI",
    "API",
    "API_KEY",
    "ASSETS",
    "AUTH",
    "CACHE",
    "CF_VERSION",
    "COUNTER",
    "DB",
    "EVENTS",
    "FILES",
    "FLOW",
    "GREETING",
    "JOBS",
    "MAILER",
    "PG",
    "SERVICE",
    "SETTINGS",
    "VECTORS",
    "VERSION",
  ]);
  expect((await mesh.get("/count")).json().count).toBe(body.count + 1);
  expect(mesh.migrations).toEqual([
    {
      database: "all-bindings-db",
      databaseId: "6d1c0de0-0000-4000-8000-000000000001",
      users: ["web/v1"],
      applied: ["0001_hits.sql"],
    },
  ]);
});

it("a service binding to a Worker outside the mesh answers 503 service_not_local, and the start says so", async () => {
  const res = await mesh.get("/auth");
  expect(res.status).toBe(503);
  expect(res.json().error).toMatchObject({
    code: "service_not_local",
    message: expect.stringContaining(
      'binding AUTH names the Worker "auth-outside-the-mesh", which is not part of this mesh',
    ),
  });
  expect(
    mesh.logs.some((l) =>
      l.includes('binding AUTH names the Worker "auth-outside-the-mesh", which is not part of this mesh'),
    ),
  ).toBe(true);
  expect(mesh.logs.some((l) => l.includes('tail consumer "all-bindings-tail" is not in this mesh'))).toBe(true);
});

it("resolves an app's dependencies from its own folder, as wrangler does (its zod, not the repo's)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "isomesh-own-deps-"));
  const app = join(dir, "app");
  mkdirSync(join(app, "node_modules/zod"), { recursive: true });
  writeFileSync(
    join(app, "node_modules/zod/package.json"),
    JSON.stringify({ name: "zod", version: "0.0.1-app", type: "module", main: "index.js" }),
  );
  writeFileSync(join(app, "node_modules/zod/index.js"), 'export const whose = "the app\'s own zod";\n');
  writeFileSync(
    join(app, "index.js"),
    'import { whose } from "zod";\nexport default { fetch: () => Response.json({ whose }) };\n',
  );
  writeFileSync(
    join(app, "wrangler.jsonc"),
    JSON.stringify({ name: "own-deps", main: "index.js", compatibility_date: "2025-04-01" }),
  );
  const own = await startTestMesh(
    `name: deps\nservices:\n  - name: web\n    versions: [{ name: v1, worker: ${app} }]\n`,
  );
  try {
    await own.apply(gatewayRouteTo("web"));
    expect((await own.get("/")).json()).toEqual({ whose: "the app's own zod" });
  } finally {
    await own.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
