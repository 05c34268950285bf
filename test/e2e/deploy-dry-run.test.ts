import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, expect, it } from "vitest";

// `isomesh deploy --dry-run`: wrangler builds every generated Worker; an app keeps every binding.
const dir = mkdtempSync(join(tmpdir(), "isomesh-dry-run-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("keeps every binding of an app's own config in the generated file and in wrangler's build", () => {
  cpSync(resolve("test/fixtures/all-bindings"), join(dir, "app"), { recursive: true });
  // The app already calls the api service through a binding of its own: adopted, no `calls:`.
  const config = join(dir, "app/wrangler.jsonc");
  writeFileSync(
    config,
    readFileSync(config, "utf8").replace('"services": [', '"services": [{ "binding": "API", "service": "api" }, '),
  );
  writeFileSync(
    join(dir, "mesh.yaml"),
    "name: dry\nservices:\n  - name: web\n    versions: [{ name: v1, worker: app }]\n  - name: api\n    versions: [{ name: v1, echo: true }]\ndefaults: [defaults.yaml]\n",
  );
  writeFileSync(
    join(dir, "defaults.yaml"),
    "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: { name: web-default-route }\nspec:\n  parentRefs: [{ name: gateway }]\n  rules: [{ backendRefs: [{ name: web }] }]\n",
  );
  const out = execFileSync(
    process.execPath,
    ["scripts/isomesh.mjs", "deploy", "--dry-run", "-m", join(dir, "mesh.yaml"), "--out", join(dir, "gen")],
    { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } },
  );
  const app = JSON.parse(readFileSync(join(dir, "gen/dry-web-v1/wrangler.json"), "utf8"));
  const bindings = [
    ["kv_namespaces", "CACHE"],
    ["r2_buckets", "FILES"],
    ["d1_databases", "DB"],
    ["queues.producers", "JOBS"],
    ["workflows", "FLOW"],
    ["vectorize", "VECTORS"],
    ["hyperdrive", "PG"],
    ["analytics_engine_datasets", "EVENTS"],
    ["services", "AUTH"],
    ["services", "API"],
    ["send_email", "MAILER"],
  ] as const;
  for (const [field, binding] of bindings) {
    const list = field.split(".").reduce((o, k) => o[k], app) as { binding?: string; name?: string }[];
    expect(
      list.map((b) => b.binding ?? b.name),
      field,
    ).toContain(binding);
  }
  expect(app.durable_objects.bindings[0].name).toBe("COUNTER");
  expect(app.ai.binding).toBe("AI");
  expect(app.version_metadata.binding).toBe("CF_VERSION");
  expect(app.assets.binding).toBe("ASSETS");
  // wrangler's own table of what the built Worker has, printed under its line (web calls api, so
  // api's version and edge are built first: the order of a real deploy).
  const from = out.indexOf("dry-web-v1 (app)");
  const table = out.slice(from, out.indexOf("→", from));
  expect(out.indexOf("dry-api-edge (edge)")).toBeLessThan(from);
  expect(table.length).toBeGreaterThan(0);
  for (const name of [
    "CACHE",
    "FILES",
    "DB",
    "JOBS",
    "FLOW",
    "VECTORS",
    "PG",
    "EVENTS",
    "AUTH",
    "API",
    "MAILER",
    "COUNTER",
    "AI",
    "CF_VERSION",
    "ASSETS",
    "GREETING",
    "SERVICE",
    "VERSION",
  ])
    expect(table, name).toContain(`env.${name}`);
  // The adopted binding is a mesh call (props shown, which wrangler's table does not); AUTH stays outside, said in one line.
  expect(out.slice(from)).toContain('env.API → dry-api-edge props {"caller":"web","version":"v1"}');
  expect(out).toContain(
    "note: service bindings to Workers outside the mesh, kept as written (not meshed): web/v1 AUTH → auth-outside-the-mesh",
  );
  expect(out).toMatch(/built \d+ workers/);
  // What wrangler would upload for every edge: the same bundle, and only the bootstrap differs.
  const uploaded = ["dry-gateway", "dry-web-edge", "dry-api-edge"].map((w) => ({
    code: readFileSync(join(dir, "dist", w, "index.js"), "utf8"),
    bootstrap: JSON.parse(readFileSync(join(dir, "dist", w, "bootstrap.snapshot"), "utf8")),
  }));
  expect(new Set(uploaded.map((u) => u.code)).size).toBe(1);
  expect(uploaded.map((u) => u.bootstrap.edge)).toEqual(["gateway", "web-edge", "api-edge"]);
  expect(Buffer.byteLength(uploaded[0].code)).toBeLessThanOrEqual(160 * 1024); // test/unit/edge-bundle.test.ts's budget
  // The control plane carries the manifest's defaults, to apply on its first start in production.
  expect(readFileSync(join(dir, "dist", "dry-control", "index.js"), "utf8")).toContain("web-default-route");
  expect(out).toContain("note: web/v1: routes of");
  // The beacon key: created beside the generated configs, its public half in every edge, the secret set last.
  const keys = JSON.parse(readFileSync(join(dir, "keys", "dry.json"), "utf8")) as { keys: { kid: string }[] };
  expect(
    JSON.parse(JSON.parse(readFileSync(join(dir, "gen/dry-web-edge/wrangler.json"), "utf8")).vars.BEACON_KEYS),
  ).toEqual({
    keys: [expect.not.objectContaining({ d: expect.anything() })],
  });
  expect(out).toContain(`note: a deploy then sets dry-control's BEACON_SIGNING_KEY secret to key ${keys.keys[0].kid}`);
});
