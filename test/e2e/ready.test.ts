import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { http, type HttpResponse } from "../helpers/http.ts";
import { listeningPorts } from "../helpers/sockets.ts";

// Ready means ready (DESIGN §3): from the moment `isomesh dev` listens on anything until it says
// "ready", every socket it (or its workerd) listens on answers 503 `starting` or refuses; the
// gateway never answers a request the mesh cannot serve yet (no route before the defaults are
// stored, D1's "no such table" before the migrations are applied), and `GET /readyz` on the admin
// port answers 200 once it is ready. The app's migration is slow on purpose (rows from a recursive
// query), so the start has a window to probe.
const ROWS = 200_000;
const dir = mkdtempSync(join(tmpdir(), "isomesh-ready-"));
let proc: ChildProcess | undefined;
afterAll(() => {
  proc?.kill("SIGINT");
  rmSync(dir, { recursive: true, force: true });
});

type Sample = { port: number; path: string; res?: HttpResponse; error?: string };
const probe = (port: number, path: string): Promise<Sample> =>
  http(`http://127.0.0.1:${port}${path}`).then(
    (res) => ({ port, path, res }),
    (e: Error) => ({ port, path, error: e.message }),
  );
const starting = (s: Sample) =>
  s.error !== undefined || (s.res!.status === 503 && s.res!.headers["x-isomesh-error"] === "starting");

it("answers 503 starting on every socket until the apps are built and migrations applied; /readyz says when", async () => {
  mkdirSync(join(dir, "app/migrations"), { recursive: true });
  writeFileSync(
    join(dir, "app/wrangler.json"),
    JSON.stringify({
      name: "counter",
      main: "index.js",
      compatibility_date: "2025-04-01",
      d1_databases: [{ binding: "DB", database_name: "counter-db", database_id: "c0" }],
    }),
  );
  writeFileSync(
    join(dir, "app/index.js"),
    `export default { async fetch(request, env) {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM t").first();
  return Response.json({ rows: row.n });
} };\n`,
  );
  writeFileSync(
    join(dir, "app/migrations/0001_rows.sql"),
    `CREATE TABLE t (x INTEGER);\nWITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${ROWS}) INSERT INTO t SELECT x FROM c;\n`,
  );
  writeFileSync(
    join(dir, "routes.yaml"),
    "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: { name: app }\nspec:\n  parentRefs: [{ name: gateway }]\n  rules: [{ backendRefs: [{ name: app }] }]\n",
  );
  writeFileSync(
    join(dir, "mesh.yaml"),
    "name: ready\nservices:\n  - name: app\n    versions: [{ name: v1, worker: app }]\ndefaults: [routes.yaml]\n",
  );
  let out = "";
  proc = spawn(
    process.execPath,
    ["scripts/isomesh.mjs", "dev", "-m", join(dir, "mesh.yaml"), "--port", "0", "--state", join(dir, "state")],
    { env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const before: Sample[] = [];
  const deadline = Date.now() + 120_000;
  while (!out.includes("dashboard")) {
    if (proc.exitCode !== null) throw new Error(`isomesh dev exited with ${proc.exitCode}:\n${out}`);
    if (Date.now() > deadline) throw new Error(`isomesh dev was not ready in 120 s:\n${out}`);
    // Every socket of its workerd processes (the mesh's, and the one that reads the apps' exports);
    // the Node process's own is Miniflare's loopback for workerd's callbacks (404 to anything else).
    const ports = listeningPorts(proc.pid!, { children: true });
    before.push(...(await Promise.all(ports.flatMap((p) => [probe(p, "/"), probe(p, "/readyz")]))));
    await new Promise((r) => setTimeout(r, 20));
  }
  const gateway = Number(/gateway\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
  const admin = Number(/admin API\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
  // The window was probed: both named sockets were seen starting.
  for (const port of [gateway, admin])
    expect(
      before.some((s) => s.port === port && s.res?.status === 503),
      `port ${port} seen starting`,
    ).toBe(true);
  // Nothing but "starting", or (a probe that met the gate just after it opened) what a ready mesh answers.
  const served = before.filter((s) => !starting(s));
  for (const s of served)
    if (s.port === admin) expect([s.path, s.res!.status]).toEqual([s.path, s.path === "/readyz" ? 200 : 302]);
    else
      expect([s.port, s.path, s.res!.status, s.res!.body]).toEqual([
        s.port,
        s.path,
        200,
        JSON.stringify({ rows: ROWS }),
      ]);
  expect(out).toContain("applied D1 migrations to counter-db (app/v1): 0001_rows.sql");
  // Ready: /readyz says so, and the first request is served with every row.
  const readyz = await http(`http://127.0.0.1:${admin}/readyz`);
  expect({ status: readyz.status, body: readyz.json() }).toEqual({ status: 200, body: { status: "ready" } });
  expect((await http(`http://127.0.0.1:${gateway}/`)).json()).toEqual({ rows: ROWS });
}, 240_000);
