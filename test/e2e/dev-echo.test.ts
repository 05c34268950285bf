import { execSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDev, type DevProcess } from "../helpers/dev-process.ts";
import { eventually } from "../helpers/eventually.ts";
import { http } from "../helpers/http.ts";
import { echoManifest } from "../helpers/mesh.ts";

let dir: string;
let dev: DevProcess;
const admin = (path: string, init: { method?: string; body?: string } = {}) =>
  http(`http://127.0.0.1:${dev.adminPort}${path}`, { ...init, headers: { authorization: `Bearer ${dev.token}` } });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "isomesh-e2e-"));
  writeFileSync(join(dir, "mesh.yaml"), echoManifest({ web: ["v1", "v2"], api: ["v1"] }));
  // Access logs are off by default (a quiet terminal); this mesh asks for them.
  dev = await startDev({ manifest: join(dir, "mesh.yaml"), state: join(dir, "state"), extra: ["--access-log", "on"] });
});
afterAll(async () => {
  await dev?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("isomesh dev, end to end over HTTP", () => {
  it("prints the gateway, admin and dashboard URLs, with the token in the fragment", () => {
    expect(dev.output()).toContain(`gateway    http://127.0.0.1:${dev.port}`);
    expect(dev.output()).toContain(`admin API  http://127.0.0.1:${dev.adminPort}`);
    expect(dev.output()).toContain(`/ui#token=${dev.token}`);
  });

  it("applies a route over the admin API and serves it through the gateway", async () => {
    const applied = await admin("/v1/apply?wait=true", {
      method: "POST",
      body: JSON.stringify({
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "HTTPRoute",
        metadata: { name: "api" },
        spec: {
          parentRefs: [{ name: "gateway" }],
          hostnames: ["api.example"],
          rules: [{ backendRefs: [{ name: "api" }] }],
        },
      }),
    });
    expect(applied.status).toBe(200);
    expect(applied.json()).toMatchObject({ version: 1, republished: ["gateway"], converged: true });
    const res = await http(`http://127.0.0.1:${dev.port}/hello`, { headers: { host: "api.example" } });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ service: "api", version: "v1", host: "api.example", caller: "gateway" });
    expect((await http(`http://127.0.0.1:${dev.port}/hello`, { headers: { host: "other.example" } })).status).toBe(404);
  });

  it("with --access-log on, writes one JSON access-log line per request on its output", async () => {
    await http(`http://127.0.0.1:${dev.port}/logged`, {
      headers: { host: "api.example", "x-request-id": "e2e-log-1" },
    });
    // Each edge writes its line when it answers: wait for both, instead of sleeping and hoping.
    const lines = await eventually(
      () =>
        dev
          .output()
          .split("\n")
          .filter((l) => l.includes('"requestId":"e2e-log-1"')),
      (l) => l.length >= 2,
      { what: "the access log lines of both edges" },
    );
    expect(lines.map((l) => JSON.parse(l.slice(l.indexOf("{"))).edge).sort()).toEqual(["api-edge", "gateway"]);
  });

  it("stops cleanly on SIGINT, leaving no workerd behind", async () => {
    const children = execSync(`ps -o pid= --ppid ${dev.proc.pid}`)
      .toString()
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
    expect(children.length).toBeGreaterThan(0); // workerd runs as a child of the CLI
    const code = await dev.stop("SIGINT");
    expect(code).toBe(0);
    const isAlive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    // Children (workerd, esbuild's service) exit with their parent; give them a moment to be reaped.
    for (let i = 0; i < 50 && children.some(isAlive); i++) await new Promise((r) => setTimeout(r, 100));
    expect(children.filter(isAlive)).toEqual([]);
  });
});
