import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { removeTempDirs, tempDir } from "../helpers/temp-dir.ts";
import { findApp } from "../../scripts/lib/app-project.ts";
import { generate, type GenOptions } from "../../scripts/lib/gen.ts";
import { pendingMigrations } from "../../scripts/lib/d1-migrations.ts";
import { readWranglerConfig } from "../../scripts/lib/wrangler-api.ts";
import { analyze } from "../../shared/analyze/index.ts";
import { topologyOf } from "../../shared/manifest/topology.ts";
import { splitDocuments, validateDocuments } from "../../shared/resources/parse.ts";
import { TEST_BEACON_KEYS } from "../helpers/beacon-keys.ts";

afterAll(removeTempDirs);

const FIXTURE = resolve("test/fixtures/all-bindings");

/** A temporary folder holding a manifest (and, optionally, copies of app projects). */
function meshDir(manifest: string, apps: Record<string, string> = {}) {
  const dir = tempDir("isomesh-gen-projects");
  for (const [to, from] of Object.entries(apps)) cpSync(from, join(dir, to), { recursive: true });
  writeFileSync(join(dir, "mesh.yaml"), manifest);
  return dir;
}
const gen = (dir: string, opts: Partial<GenOptions> = {}) =>
  generate(join(dir, "mesh.yaml"), { outDir: join(dir, "gen"), beaconKeys: TEST_BEACON_KEYS, ...opts });
const written = (path: string) => JSON.parse(readFileSync(path, "utf8"));

const ALL = `name: m
services:
  - name: web
    versions:
      - { name: v1, worker: app }
      - { name: v2, worker: app/wrangler.jsonc, vars: { GREETING: bonjour } }
    calls: [api]
    egress: true
  - name: api
    versions: [{ name: v1, echo: true }]
`;

describe("a version that is a Workers project", () => {
  // v2 alone consumes the queue (a queue has one consumer): v1 gets a copy without consumers.
  const dir = meshDir(ALL.replace("worker: app }", "worker: app-v1 }"), { app: FIXTURE, "app-v1": FIXTURE });
  const v1config = join(dir, "app-v1/wrangler.jsonc");
  writeFileSync(v1config, readFileSync(v1config, "utf8").replace(/"consumers": \[[^\]]*\]/, '"consumers": []'));
  const mesh = gen(dir);
  const v2 = mesh.workers.find((w) => w.name === "web-v2")!;
  const file = written(v2.configPath);

  it("keeps every binding kind, trigger and build setting of the app's own config", () => {
    expect(file).toMatchObject({
      compatibility_date: "2025-04-01",
      compatibility_flags: ["nodejs_compat"],
      kv_namespaces: [{ binding: "CACHE", id: "0f1e2d3c4b5a69788796a5b4c3d2e1f0" }],
      r2_buckets: [{ binding: "FILES", bucket_name: "all-bindings-files" }],
      d1_databases: [
        { binding: "DB", database_name: "all-bindings-db", database_id: "6d1c0de0-0000-4000-8000-000000000001" },
      ],
      durable_objects: { bindings: [{ name: "COUNTER", class_name: "Counter" }] },
      migrations: [{ tag: "v1", new_sqlite_classes: ["Counter"] }],
      queues: {
        producers: [{ binding: "JOBS", queue: "all-bindings-jobs" }],
        consumers: [{ queue: "all-bindings-jobs", max_batch_size: 1, max_batch_timeout: 1 }],
      },
      workflows: [{ name: "all-bindings-flow", binding: "FLOW", class_name: "Flow" }],
      ai: { binding: "AI" },
      vectorize: [{ binding: "VECTORS", index_name: "all-bindings-index" }],
      hyperdrive: [{ binding: "PG", id: "0123456789abcdef0123456789abcdef" }],
      analytics_engine_datasets: [{ binding: "EVENTS", dataset: "all_bindings_events" }],
      version_metadata: { binding: "CF_VERSION" },
      tail_consumers: [{ service: "all-bindings-tail" }],
      send_email: [{ name: "MAILER" }],
      secrets: { required: ["API_KEY"] },
      triggers: { crons: ["*/5 * * * *"] },
      rules: [{ type: "Text", globs: ["**/*.md"], fallthrough: true }],
      define: { BUILD_ID: '"build-42"' },
      limits: { cpu_ms: 100 },
      assets: { binding: "ASSETS", run_worker_first: true },
      observability: { enabled: true, head_sampling_rate: 1 },
    });
  });

  it("adds only the mesh's own bindings and vars; the manifest's vars override the app's", () => {
    expect(file.name).toBe("m-web-v2");
    expect(file.vars).toEqual({ GREETING: "bonjour", SETTINGS: { retries: 2 }, SERVICE: "web", VERSION: "v2" });
    expect(file.services).toEqual([
      { binding: "AUTH", service: "auth-outside-the-mesh" },
      { binding: "API", service: "m-api-edge", props: { caller: "web", version: "v2" } },
      { binding: "EGRESS", service: "m-egress", props: { caller: "web", version: "v2" } },
    ]);
    expect(written(mesh.workers.find((w) => w.name === "web-v1")!.configPath).vars.GREETING).toBe("hello");
  });

  it("is reached only through its edge: the app's routes and workers.dev are not deployed, and gen says so", () => {
    expect(file).toMatchObject({ workers_dev: false, preview_urls: false });
    expect(file.routes).toBeUndefined();
    expect(mesh.notes).toContainEqual(expect.stringMatching(/^web\/v2: routes of .*wrangler\.jsonc is not deployed/));
  });

  it("says how to set the app's secrets on its generated Worker", () => {
    expect(mesh.notes).toContain(
      "web/v2 needs its secrets on its own Worker: npx wrangler secret put API_KEY --name m-web-v2",
    );
  });

  it("rebases every path, so wrangler reads the generated file as pointing at the app's own files", () => {
    const config = readWranglerConfig(v2.configPath);
    const here = dirname(v2.configPath);
    expect(config.main).toBe(join(dir, "app/src/index.ts"));
    expect(resolve(here, config.assets!.directory!)).toBe(join(dir, "app/public"));
    expect(resolve(here, config.alias!["greeting-lib"])).toBe(join(dir, "app/src/greeting.ts"));
    expect(resolve(here, config.d1_databases[0].migrations_dir!)).toBe(join(dir, "app/db/migrations"));
    expect(v2.build).toEqual({
      kind: "wrangler",
      projectDir: join(dir, "app"),
      userConfigPath: join(dir, "app/wrangler.jsonc"),
    });
  });

  it("prefixes every Worker name with the mesh, and binds versions by those names", () => {
    expect(mesh.workers.map((w) => w.config.name).sort()).toEqual([
      "m-api-edge",
      "m-api-v1",
      "m-control",
      "m-egress",
      "m-gateway",
      "m-web-edge",
      "m-web-v1",
      "m-web-v2",
    ]);
    const edge = mesh.workers.find((w) => w.name === "web-edge")!;
    expect(edge.config.vars).toMatchObject({ EDGE_NAME: "web-edge" });
    expect(edge.config.services).toContainEqual({ binding: "VERSION_V2", service: "m-web-v2" });
  });
});

describe("bad input", () => {
  const one = (worker: string, extra = "") =>
    `name: m\nservices:\n  - name: web\n    versions: [{ name: v1, worker: ${worker} }]\n${extra}`;

  it("a folder with neither a wrangler config nor an entry file: names the folder and what was looked for", () => {
    const dir = meshDir(one("empty"));
    mkdirSync(join(dir, "empty"));
    expect(() => gen(dir)).toThrow(
      /mesh\.yaml: services\[0\]\.versions\[0\]\.worker: .*empty has no wrangler\.json, wrangler\.jsonc, wrangler\.toml and no entry file \(index\.ts, src\/index\.ts/,
    );
    expect(() => gen(meshDir(one("missing")))).toThrow(/services\[0\]\.versions\[0\]\.worker: "missing" not found/);
  });

  it("a config wrangler rejects: wrangler's own message, with the file", () => {
    const dir = meshDir(one("app"), { app: FIXTURE });
    writeFileSync(
      join(dir, "app/wrangler.jsonc"),
      JSON.stringify({
        name: "x",
        main: "src/index.ts",
        compatibility_date: "2025-04-01",
        durable_objects: { bindings: [{ name: "X" }] },
      }),
    );
    expect(() => gen(dir)).toThrow(
      /app\/wrangler\.jsonc: Processing .*wrangler\.jsonc configuration:\s+- "durable_objects\.bindings\[0\]": \{"name":"X"\}\s+- binding should have a string "class_name" field/,
    );
  });

  it.each([
    [
      "a binding named like a `calls` binding",
      `"d1_databases": [{ "binding": "API", "database_name": "x", "database_id": "x" }]`,
      "calls: [api]",
      /d1 binding "API" in .*wrangler\.jsonc collides with the mesh's binding for calls\[0\] "api"/,
    ],
    [
      "a var named VERSION",
      `"vars": { "VERSION": "1.2.3" }`,
      "",
      /plain_text binding "VERSION" in .* collides with the mesh's var VERSION/,
    ],
    [
      "a secret named EGRESS",
      `"secrets": { "required": ["EGRESS"] }`,
      "egress: true",
      /secret binding "EGRESS" .* collides with the mesh's binding EGRESS/,
    ],
  ])("%s is a manifest error naming both and the field", (_label, binding, service, message) => {
    const dir = meshDir(one("app", `    ${service}\n  - name: api\n    versions: [{ name: v1, echo: true }]\n`), {
      app: FIXTURE,
    });
    writeFileSync(
      join(dir, "app/wrangler.jsonc"),
      `{ "name": "x", "main": "src/index.ts", "compatibility_date": "2025-04-01", ${binding} }`,
    );
    expect(() => gen(dir)).toThrow(new RegExp(`services\\[0\\]\\.versions\\[0\\]\\.worker: ${message.source}`));
  });

  it("two versions consuming one queue: a queue has one consumer Worker", () => {
    const dir = meshDir(
      `name: m\nservices:\n  - name: web\n    versions: [{ name: v1, worker: app }, { name: v2, worker: app }]\n`,
      { app: FIXTURE },
    );
    expect(() => gen(dir)).toThrow(
      /services\[0\]\.versions\[1\]\.worker: queue "all-bindings-jobs" is also consumed by web\/v1/,
    );
  });

  it.each([
    [
      "a manifest var that collides with a calls binding",
      "name: m\nservices:\n  - { name: web, calls: [api], versions: [{ name: v1, echo: true, vars: { API: x } }] }\n  - { name: api, versions: [{ name: v1, echo: true }] }\n",
      /services\[0\]\.versions\[0\]\.vars\.API: "API" is the mesh's binding for calls\[0\] "api"/,
    ],
    [
      "a manifest VERSION other than the version's name",
      "name: m\nservices:\n  - { name: web, versions: [{ name: v1, echo: true, vars: { VERSION: v2 } }] }\n",
      /vars\.VERSION: "VERSION" is the mesh's var VERSION/,
    ],
    [
      "a Worker name over 63 characters",
      `name: m\nservices:\n  - { name: ${"a".repeat(40)}, versions: [{ name: ${"b".repeat(22)}, echo: true }] }\n`,
      /services\[0\]\.versions\[0\]\.name: the Worker name "m-a+-b+" is 65 characters \(Cloudflare allows 63\)/,
    ],
    [
      "two generated Workers with one name",
      "name: m\nservices:\n  - { name: a-b, versions: [{ name: c, echo: true }] }\n  - { name: a, versions: [{ name: b-c, echo: true }] }\n",
      /services\[1\]\.versions\[0\]\.name: the Worker name "m-a-b-c" of a\/b-c is also that of a-b\/c/,
    ],
    [
      "a deployed Worker named like a generated one",
      "name: m\nservices:\n  - { name: web, versions: [{ name: v1, echo: true }, { name: v2, deployed: m-web-v1 }] }\n",
      /services\[0\]\.versions\[1\]\.deployed: the Worker name "m-web-v1" of web\/v2 is also that of web\/v1/,
    ],
    [
      "vars on a deployed Worker",
      "name: m\nservices:\n  - { name: web, versions: [{ name: v1, deployed: web-prod, vars: { A: b } }] }\n",
      /services\[0\]\.versions\[0\]\.vars: a deployed Worker keeps the vars of its own config/,
    ],
    [
      "a gateway route of the wrong shape",
      "name: m\ngateway: { routes: [{ pattern: shop.example, zone: x }] }\nservices:\n  - { name: web, versions: [{ name: v1, echo: true }] }\n",
      /gateway\.routes\[0\]/,
    ],
  ])("rejects %s", (_label, manifest, message) => expect(() => gen(meshDir(manifest))).toThrow(message));
});

describe("brownfield: a version deployed by the team's own pipeline", () => {
  const manifest = (worker = "") =>
    `name: m\nservices:\n  - name: web\n    versions: [{ name: v1, deployed: web-prod${worker} }]\n    calls: [api]\n  - name: api\n    versions: [{ name: v1, echo: true }]\n`;

  it("generates only the mesh side: the edge binds the deployed Worker, gen says which bindings its config needs", () => {
    const mesh = gen(meshDir(manifest()));
    expect(mesh.workers.some((w) => w.name === "web-v1")).toBe(false);
    expect(mesh.workers.find((w) => w.name === "web-edge")!.config.services).toContainEqual({
      binding: "VERSION_V1",
      service: "web-prod",
    });
    expect(mesh.notes).toContainEqual(
      expect.stringContaining(
        'web/v1 is the deployed Worker "web-prod": for its calls to go through the mesh, its own config needs {"services":[{"binding":"API","service":"m-api-edge","props":{"caller":"web","version":"v1"}}]}',
      ),
    );
  });

  it("isomesh dev runs it from its `worker:` folder under its deployed name, and refuses it without one", () => {
    expect(() => gen(meshDir(manifest()), { target: "dev" })).toThrow(
      /services\[0\]\.versions\[0\]: "web-prod" is deployed by your own pipeline; isomesh dev runs it from its project folder: add `worker: <its folder>`/,
    );
    const dir = meshDir(manifest(", worker: app"), { app: FIXTURE });
    const app = gen(dir, { target: "dev" }).workers.find((w) => w.name === "web-v1")!;
    expect(app.config.name).toBe("web-prod");
    expect(app.config.vars).toEqual({ GREETING: "hello", SETTINGS: { retries: 2 } });
  });
});

describe("manifest: gateway routes", () => {
  it("puts the manifest's routes and custom domains on the gateway, in wrangler's shape", () => {
    const routes = [
      { pattern: "shop.example.com", custom_domain: true },
      "api.example.com/*",
      { pattern: "x.example.com/*", zone_name: "example.com" },
    ];
    const mesh = gen(
      meshDir(
        `name: m\ngateway: { routes: ${JSON.stringify(routes)}, workersDev: false }\nservices:\n  - { name: web, versions: [{ name: v1, echo: true }] }\n`,
      ),
    );
    expect(mesh.workers.find((w) => w.role === "gateway")!.config).toMatchObject({
      name: "m-gateway",
      routes,
      workers_dev: false,
    });
  });
});

describe("finding the app", () => {
  it("a folder with a config is a project; without one, its entry file; a named file is either", () => {
    const dir = meshDir("", { app: FIXTURE });
    expect(findApp("app", dir)).toEqual({ kind: "project", configPath: join(dir, "app/wrangler.jsonc") });
    expect(findApp("app/src/index.ts", dir)).toEqual({ kind: "entry", entry: join(dir, "app/src/index.ts") });
    expect(findApp("workers/bookinfo/ratings", dir)).toEqual({
      kind: "entry",
      entry: resolve("workers/bookinfo/ratings/index.ts"),
    });
    // Run from the repo's root, the working directory is the repo: each folder is named once.
    expect(() => findApp("nope", dir)).toThrow(`"nope" not found (looked relative to ${dir} and ${process.cwd()})`);
  });
});

describe("D1 migrations", () => {
  it("are applied in wrangler's order (by name, then numeric prefix), skipping the applied", () => {
    const dir = tempDir("isomesh-migrations");
    for (const f of ["0010_c.sql", "0002_b.sql", "0001_a.sql", "notes.txt", "0003_x.sql"])
      writeFileSync(join(dir, f), "");
    expect(pendingMigrations(dir, new Set(["0003_x.sql"]))).toEqual(["0001_a.sql", "0002_b.sql", "0010_c.sql"]);
  });
});

describe("examples/shop", () => {
  it("generates (each service an ordinary wrangler project) and every resource file passes analyze against it", () => {
    const dir = tempDir("isomesh-shop-gen");
    const mesh = generate("examples/shop/mesh.yaml", { outDir: join(dir, "gen"), beaconKeys: TEST_BEACON_KEYS });
    expect(mesh.workers.filter((w) => w.role === "app").map((w) => [w.name, w.build.kind])).toEqual([
      ["catalog-v1", "wrangler"],
      ["catalog-v2", "wrangler"],
      ["cart-v1", "wrangler"],
      ["orders-v1", "wrangler"],
      ["fulfillment-v1", "wrangler"],
    ]);
    expect(mesh.workers.find((w) => w.role === "gateway")!.config.routes).toEqual([
      { pattern: "shop.example.com", custom_domain: true },
    ]);
    for (const file of ["gateway.yaml", "tasks/catalog-canary.yaml", "security/catalog-read-only.yaml"]) {
      const { docs, errors: splitErrors } = splitDocuments(readFileSync(join("examples/shop", file), "utf8"));
      const { parsed, errors } = validateDocuments(docs);
      expect([...splitErrors, ...errors], file).toEqual([]);
      expect(
        analyze(
          topologyOf(mesh.manifest),
          parsed.map((p) => p.resource),
        ).errors,
        file,
      ).toEqual([]);
    }
  });
});
