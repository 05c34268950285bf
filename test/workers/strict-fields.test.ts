import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { echoManifest, startTestMesh, TEST_TOKEN, type TestMesh } from "../helpers/mesh.ts";

// Strict field validation is the same in apply, dry-run, analyze and the CLI's diff and analyze
// (remote and --local): 422 naming the path, nothing stored.

let mesh: TestMesh;
const typo = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web }
spec:
  parentRefs: [{ name: gateway }]
  rules: [{ backendRef: [{ name: web }] }]
`;
const TYPO_ERROR = {
  resource: "HTTPRoute/web",
  path: "spec.rules[0].backendRef",
  message: "unknown field `backendRef` (did you mean `backendRefs`?)",
};
const versionOf = async () => (await mesh.admin("/v1/version")).json().version as number;
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ["scripts/isomesh.mjs", ...args], {
    encoding: "utf8",
    env: { ...process.env, ISOMESH_ADMIN: mesh.adminUrl, ISOMESH_TOKEN: TEST_TOKEN, NO_COLOR: "1" },
  });

beforeAll(async () => {
  mesh = await startTestMesh(echoManifest({ web: ["v1", "v2"] }));
  writeFileSync(join(mesh.dir, "typo.yaml"), typo);
});
afterAll(() => mesh?.stop());

describe("unknown fields", () => {
  it.each(["/v1/apply", "/v1/apply?dryRun=true"])(
    "%s answers 422 naming the path, and stores nothing",
    async (path) => {
      const v = await versionOf();
      const res = await mesh.admin(path, { method: "POST", body: typo });
      expect(res.status).toBe(422);
      expect(res.json()).toEqual({ errors: [TYPO_ERROR] });
      expect(await versionOf()).toBe(v);
      expect((await mesh.admin("/v1/resources/HTTPRoute/web")).status).toBe(404);
    },
  );

  it("JSON bodies too", async () => {
    const body = JSON.stringify({
      apiVersion: "isomesh.dev/v1",
      kind: "TrafficPolicy",
      metadata: { name: "web" },
      spec: { targetRefs: [{ name: "web" }], faultInjection: { delay: { fixedDelay: "1s", percent: 50 } } },
    });
    const res = await mesh.admin("/v1/apply", {
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(422);
    expect(res.json().errors).toEqual([
      {
        resource: "TrafficPolicy/web",
        path: "spec.faultInjection.delay.percent",
        message: "unknown field `percent` (did you mean `percentage`?)",
      },
    ]);
  });

  it("/v1/analyze reports it as an error", async () => {
    const res = await mesh.admin("/v1/analyze", { method: "POST", body: typo });
    expect(res.json()).toEqual({ errors: [TYPO_ERROR], warnings: [] });
  });
});

describe("backendRef group and kind", () => {
  it("refuses a kind isomesh does not serve, naming the field", async () => {
    const res = await mesh.admin("/v1/apply", {
      method: "POST",
      body: typo.replace("backendRef: [{ name: web }]", "backendRefs: [{ name: web, kind: NonExistent }]"),
    });
    expect(res.status).toBe(422);
    expect(res.json().errors).toEqual([
      {
        resource: "HTTPRoute/web",
        path: "spec.rules[0].backendRefs[0].kind",
        message: 'isomesh routes only to mesh services: kind must be Service (got "NonExistent")',
      },
    ]);
  });

  it("still refuses unknown services", async () => {
    const res = await mesh.admin("/v1/apply", {
      method: "POST",
      body: typo.replace("backendRef: [{ name: web }]", 'backendRefs: [{ group: "", kind: Service, name: nope }]'),
    });
    expect(res.status).toBe(422);
    expect(res.json().errors).toEqual([
      expect.objectContaining({
        path: "spec.rules[0].backendRefs[0].name",
        message: expect.stringMatching(/^unknown service "nope"/),
      }),
    ]);
  });

  it("routes a spelled-out core Service", async () => {
    await mesh.apply(
      typo.replace("backendRef: [{ name: web }]", 'backendRefs: [{ group: "", kind: Service, name: web }]'),
    );
    expect((await mesh.get("/")).json()).toMatchObject({ service: "web" });
  });
});

describe("status sent by a user", () => {
  it("is ignored with a warning, in apply and in dry-run", async () => {
    const body =
      typo.replace("backendRef:", "backendRefs:").replace("metadata: { name: web }", "metadata: { name: web2 }") +
      "status: { parents: [] }\n";
    for (const path of ["/v1/apply?dryRun=true", "/v1/apply"]) {
      const res = await mesh.admin(path, { method: "POST", body });
      expect(res.status).toBe(200);
      expect(res.json().warnings).toContainEqual({
        resource: "HTTPRoute/web2",
        path: "status",
        message: "status is written by the control plane; the status sent was ignored",
      });
    }
    expect((await mesh.admin("/v1/resources/HTTPRoute/web2")).json()).not.toHaveProperty("status");
  });
});

// Last: the CLI runs take seconds, and an admin request after such a pause may meet a keep-alive
// socket the server has just closed ("socket hang up").
describe("the CLI", () => {
  it.each([
    ["diff", ["diff", "-f"]],
    ["analyze", ["analyze", "-f"]],
    ["analyze --local", ["analyze", "--local", "-m", "MESH", "-f"]],
  ])("isomesh %s fails naming the path", (_name, args) => {
    const r = cli(...args.map((a) => (a === "MESH" ? join(mesh.dir, "mesh.yaml") : a)), join(mesh.dir, "typo.yaml"));
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toContain(
      "HTTPRoute/web spec.rules[0].backendRef: unknown field `backendRef` (did you mean `backendRefs`?)",
    );
  });
});
