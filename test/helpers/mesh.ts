import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GenOptions } from "../../scripts/lib/gen.ts";
import { startMesh, type MeshRuntime } from "../../scripts/lib/runtime.ts";
import { http, type HttpResponse } from "./http.ts";
import { TEST_DATA_PLANE } from "./data-plane.ts";

export const TEST_TOKEN = "test-editor-token-0123456789";
export const VIEWER_TOKEN = "test-viewer-token-0123456789";

export type TestMesh = MeshRuntime & {
  dir: string;
  /** A request to the gateway; `host` sets the Host header. */
  get(
    path: string,
    opts?: { host?: string; method?: string; headers?: Record<string, string>; body?: string },
  ): Promise<HttpResponse>;
  admin(
    path: string,
    opts?: { method?: string; body?: string; headers?: Record<string, string>; token?: string },
  ): Promise<HttpResponse>;
  /** POST /v1/apply?wait=true; throws unless 200. */
  apply(yaml: string): Promise<any>;
  logs: string[];
  stop(): Promise<void>;
};

/** Starts a mesh from manifest text in a temporary folder, in workerd, on ports workerd picks (no probing race). */
export async function startTestMesh(
  manifestYaml: string,
  opts: { persist?: boolean; stateDir?: string; gen?: Partial<GenOptions> } = {},
): Promise<TestMesh> {
  const dir = opts.stateDir ?? mkdtempSync(join(tmpdir(), "isomesh-test-"));
  const manifestPath = join(dir, "mesh.yaml");
  writeFileSync(manifestPath, manifestYaml);
  const logs: string[] = [];
  const mesh = await startMesh({
    manifestPath,
    port: 0,
    stateDir: join(dir, "state"),
    adminToken: TEST_TOKEN,
    extraTokens: [{ name: "viewer", token: VIEWER_TOKEN, role: "viewer" }],
    persist: opts.persist ?? false,
    gen: TEST_DATA_PLANE ? { dataPlane: TEST_DATA_PLANE, ...opts.gen } : opts.gen,
    onLog: (l) => logs.push(l),
  });
  const get: TestMesh["get"] = (path, o = {}) =>
    http(mesh.gatewayUrl + path, {
      method: o.method,
      body: o.body,
      headers: { ...(o.host ? { host: o.host } : {}), ...o.headers },
    });
  const admin: TestMesh["admin"] = (path, o = {}) =>
    http(mesh.adminUrl + path, {
      method: o.method,
      body: o.body,
      headers: { authorization: `Bearer ${o.token ?? TEST_TOKEN}`, ...o.headers },
    });
  return {
    ...mesh,
    dir,
    logs,
    get,
    admin,
    async apply(yaml) {
      const res = await admin("/v1/apply?wait=true", { method: "POST", body: yaml });
      if (res.status !== 200) throw new Error(`apply failed: ${res.status} ${res.body}`);
      return res.json();
    },
    async stop() {
      await mesh.dispose();
      if (!opts.stateDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A manifest of echo services: `echoManifest({ web: ["v1","v2"], api: ["v1"] }, { web: ["api"] })`. */
export function echoManifest(services: Record<string, string[]>, calls: Record<string, string[]> = {}): string {
  const lines = ["name: test", "services:"];
  for (const [name, versions] of Object.entries(services)) {
    lines.push(`  - name: ${name}`, "    versions:");
    for (const v of versions) lines.push(`      - { name: ${v}, echo: true }`);
    if (calls[name]) lines.push(`    calls: [${calls[name].join(", ")}]`);
  }
  return lines.join("\n") + "\n";
}

/** An HTTPRoute that sends everything reaching the gateway to one service. */
export const gatewayRouteTo = (service: string, name = service) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${name} }
spec:
  parentRefs: [{ name: gateway }]
  rules: [{ backendRefs: [{ name: ${service} }] }]
`;
