import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { echoManifest, startTestMesh, TEST_TOKEN, type TestMesh, VIEWER_TOKEN } from "../helpers/mesh.ts";

let mesh: TestMesh;

/** Runs the isomesh CLI as a user does, against the test mesh's admin API. */
function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ["scripts/isomesh.mjs", ...args], {
    env: { ...process.env, ISOMESH_ADMIN: mesh.adminUrl, ISOMESH_TOKEN: TEST_TOKEN, NO_COLOR: "1", ...env },
    encoding: "utf8",
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const route = (v1: number, v2: number) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web }
spec:
  parentRefs: [{ kind: Service, name: web }]
  rules:
    - backendRefs: [{ name: web, version: v1, weight: ${v1} }, { name: web, version: v2, weight: ${v2} }]
`;
const file = (name: string, text: string) => {
  const path = join(mesh.dir, name);
  writeFileSync(path, text);
  return path;
};

beforeAll(async () => {
  mesh = await startTestMesh(echoManifest({ web: ["v1", "v2"], reviews: ["v1", "v3"] }));
});
afterAll(() => mesh?.stop());

describe("isomesh diff (kubectl diff: 0 no change, 1 changes, >1 error)", () => {
  it("shows a new resource as + lines from /dev/null and exits 1", () => {
    const r = cli(["diff", "-f", file("route.yaml", route(100, 0))]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("--- /dev/null\n+++ file/HTTPRoute/web\n@@ -0,0 +1,");
    expect(r.out).toContain("+kind: HTTPRoute\n");
  });

  it("exits 0 with nothing printed when the live resource already matches", async () => {
    await mesh.apply(route(100, 0));
    const r = cli(["diff", "-f", file("same.yaml", route(100, 0))]);
    expect(r).toMatchObject({ code: 0, out: "" });
  });

  it("shows changed values as -/+ YAML lines with context, and stores nothing", async () => {
    const r = cli(["diff", "-f", file("shift.yaml", route(50, 50))]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      "diff -u -N live/HTTPRoute/web file/HTTPRoute/web\n--- live/HTTPRoute/web\n+++ file/HTTPRoute/web\n@@ ",
    );
    expect(r.out).toMatch(/ {10}version: v1\n- {10}weight: 100\n\+ {10}weight: 50\n/);
    expect(r.out).toMatch(/- {10}weight: 0\n\+ {10}weight: 50\n/);
    expect((await mesh.admin("/v1/resources/HTTPRoute/web")).json().spec.rules[0].backendRefs[0].weight).toBe(100);
    const json = JSON.parse(cli(["diff", "-f", join(mesh.dir, "shift.yaml"), "-o", "json"]).out);
    expect(json.diffs).toMatchObject([{ kind: "HTTPRoute", name: "web", op: "changed" }]);
  });

  it("prints what the control-plane guide shows for the traffic-shifting step", async () => {
    await mesh.apply(readFileSync("examples/bookinfo/tasks/reviews-v3.yaml", "utf8"));
    const guide = readFileSync("docs/control-plane.md", "utf8");
    const shown = guide
      .slice(guide.indexOf("$ npx isomesh diff -f examples/bookinfo/tasks/traffic-shifting-50.yaml\n"))
      .split("\n```")[0]
      .split("\n")
      .slice(1)
      .join("\n");
    expect(shown).toContain("+++ file/HTTPRoute/reviews");
    const r = cli(["diff", "-f", "examples/bookinfo/tasks/traffic-shifting-50.yaml"]);
    expect(r).toMatchObject({ code: 1, out: shown + "\n" });
  });

  it("history VERSION shows that change's before/after as a unified diff", async () => {
    const { version } = await mesh.apply(route(90, 10));
    const r = cli(["history", String(version)]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      new RegExp(
        `^version ${version}  \\S+  by admin\n\nHTTPRoute/web changed\n--- v${version - 1}/HTTPRoute/web\n\\+\\+\\+ v${version}/HTTPRoute/web\n@@ `,
      ),
    );
    expect(r.out).toMatch(/- {10}weight: 100\n\+ {10}weight: 90\n/);
    expect(JSON.parse(cli(["history", String(version), "-o", "json"]).out)).toMatchObject({
      version,
      resources: [{ kind: "HTTPRoute", name: "web" }],
    });
    expect(cli(["history", "999"])).toMatchObject({
      code: 1,
      err: expect.stringMatching(/^isomesh: 404: no version 999/),
    });
  });

  it("exits 2 with the field named for an invalid file, a missing file or an unreachable admin API", () => {
    const invalid = cli(["diff", "-f", file("bad.yaml", route(100, 0).replace("weight: 100", "weight: lots"))]);
    expect(invalid.code).toBe(2);
    expect(invalid.err).toMatch(/error HTTPRoute\/web spec\.rules\[0\]\.backendRefs\[0\]\.weight: /);
    expect(cli(["diff", "-f", join(mesh.dir, "nope.yaml")])).toMatchObject({
      code: 2,
      err: expect.stringContaining("no such file"),
    });
    expect(cli(["diff", "-f", join(mesh.dir, "same.yaml")], { ISOMESH_ADMIN: "http://127.0.0.1:1" }).code).toBe(2);
    expect(cli(["diff"]).code).toBe(2);
  });
});

describe("CLI messages", () => {
  it("rollback names the problem without placeholders", () => {
    expect(cli(["rollback", "999"]).err).toMatch(/^isomesh: 404: no version 999 \(current is \d+\)\n$/);
    expect(cli(["rollback", "abc"]).err).toBe(
      'isomesh: VERSION must be a config version (a whole number, see `isomesh history`), got "abc"\n',
    );
  });

  it("says so when pointed at the gateway instead of the admin API", () => {
    const r = cli(["status"], { ISOMESH_ADMIN: mesh.gatewayUrl });
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${mesh.gatewayUrl} is an isomesh gateway, not the admin API`);
  });

  it("a refused token on apply says which token was sent, what the API said and how to get one", () => {
    const path = file("refused.yaml", route(100, 0));
    const wrong = cli(["apply", "-f", path], { ISOMESH_TOKEN: "not-the-token" });
    expect(wrong.code).toBe(1);
    expect(wrong.err).toBe(
      `isomesh: apply: the admin API at ${mesh.adminUrl} did not accept the token from ISOMESH_TOKEN (401: a valid admin token is required (Authorization: Bearer <token>)); ` +
        "`isomesh dev` prints one (its `export ISOMESH_ADMIN=… ISOMESH_TOKEN=…` line; a generated one is kept in <state>/admin-token, .isomesh/admin-token by default); " +
        "a deployed control plane takes the tokens of its ADMIN_TOKENS secret or an OIDC token (docs/security.md#admin-api-access); nothing was stored\n",
    );
    expect(cli(["apply", "-f", path, "--token", "also-wrong"]).err).toContain(
      "did not accept the token from --token (401",
    );
    expect(cli(["apply", "-f", path], { ISOMESH_TOKEN: "" }).err).toMatch(
      /^isomesh: apply: no admin token: pass --token or set ISOMESH_TOKEN; `isomesh dev` prints one/,
    );
    expect(cli(["apply", "-f", path], { ISOMESH_TOKEN: VIEWER_TOKEN }).err).toMatch(
      /^isomesh: apply: the admin API at \S+ refused the token from ISOMESH_TOKEN \(403: token "viewer" has role viewer; this needs editor\): use an editor token for changes;/,
    );
    expect(cli(["status"], { ISOMESH_TOKEN: "not-the-token" }).err).toContain(
      "did not accept the token from ISOMESH_TOKEN (401",
    );
  });

  it("takes ISOMESH_ADMIN as host:port (http), and names it when it is not a URL", () => {
    const hostPort = mesh.adminUrl.replace(/^http:\/\//, "");
    expect(cli(["version"], { ISOMESH_ADMIN: hostPort })).toMatchObject({ code: 0, err: "" });
    expect(cli(["version", "--admin", hostPort])).toMatchObject({ code: 0, err: "" });
    expect(cli(["version"], { ISOMESH_ADMIN: "ftp://127.0.0.1:1" }).err).toBe(
      'isomesh: ISOMESH_ADMIN is not an admin API URL: "ftp://127.0.0.1:1" (e.g. http://127.0.0.1:8788)\n',
    );
    expect(cli(["version", "--admin", "http://"]).err).toBe(
      'isomesh: --admin is not an admin API URL: "http://" (e.g. http://127.0.0.1:8788)\n',
    );
  });

  it("prints its own version with --version", () => {
    expect(cli(["--version"]).out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("rollout abort says aborted", async () => {
    await mesh.apply(`apiVersion: isomesh.dev/v1
kind: Rollout
metadata: { name: web-v2 }
spec: { targetRef: { name: web }, stable: v1, canary: v2, steps: [10, 100], interval: 1h }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web }
spec: { parentRefs: [{ name: gateway }], rules: [{ backendRefs: [{ name: web }] }] }
`);
    const r = cli(["rollout", "abort", "web-v2"]);
    expect(r.out).toMatch(/^Rollout\/web-v2 aborted \(version \d+\)\n$/);
  });
});
