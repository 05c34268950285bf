import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { EDGE_BUNDLE_DIR } from "../../scripts/lib/gen.ts";

// `gen`, `deploy` and `dev` read ./mesh.yaml unless -m names a manifest, like wrangler reads ./wrangler.json.
const CLI = resolve("scripts/isomesh.mjs");
const dirs: string[] = [];
const folder = () => {
  const dir = mkdtempSync(join(tmpdir(), "isomesh-cli-"));
  dirs.push(dir);
  return dir;
};
const isomesh = (cwd: string, ...args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
    timeout: 110_000,
  });

afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("the manifest of gen, deploy and dev", () => {
  it.each([["gen"], ["deploy", "--dry-run"], ["dev"]])(
    "%s without -m and without ./mesh.yaml says in one line to pass -m",
    (...args) => {
      const r = isomesh(folder(), ...args);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe("");
      const lines = r.stderr.trimEnd().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^isomesh: no mesh\.yaml in .+: pass -m FILE \(e\.g\. -m \S*examples\/bookinfo\/mesh\.yaml, the Bookinfo example\)$/,
      );
      // The path it names is right from where the user stands.
      const path = lines[0].match(/-m (\S*examples\/bookinfo\/mesh\.yaml)/)![1];
      expect(path.startsWith("/") || path.startsWith("..")).toBe(true);
    },
  );

  it("names a missing -m file in one line", () => {
    const r = isomesh(folder(), "gen", "-m", "nope.yaml");
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("isomesh: manifest nope.yaml not found\n");
  });

  it("deploy --dry-run in a folder with a mesh.yaml builds every worker", () => {
    const dir = folder();
    copyFileSync("examples/echo/mesh.yaml", join(dir, "mesh.yaml"));
    const r = isomesh(dir, "deploy", "--dry-run");
    expect(r.stderr).toBe("");
    expect(r.status, r.stdout).toBe(0);
    // echo: 2 services × 2 versions, 2 edges, the gateway, the control plane.
    expect(r.stdout).toContain("built 8 workers");
    // One dist folder per generated Worker (gen's `_edge` folder is the bundle every edge uploads, not a Worker).
    expect(readdirSync(join(dir, ".isomesh/dist")).sort()).toEqual(
      readdirSync(join(dir, ".isomesh/gen"))
        .filter((d) => d !== EDGE_BUNDLE_DIR)
        .sort(),
    );
    expect(existsSync(join(dir, ".isomesh/dist/echo-gateway"))).toBe(true); // Worker names are prefixed by the mesh
  });
});
