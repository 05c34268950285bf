import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, expect, it } from "vitest";

// The beacon keys as an operator handles them (README, Deploy; docs/control-plane.md, Beacon keys):
// gen creates them beside its output, the data plane gets their public halves, `keys rotate` /
// `retire` change the set the next deploy ships, `keys secret` prints what wrangler's secret takes.
const CLI = resolve("scripts/isomesh.mjs");
const dir = mkdtempSync(join(tmpdir(), "isomesh-keys-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const isomesh = (...args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args], {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
    timeout: 110_000,
  });
const gatewayKeys = () =>
  (
    JSON.parse(JSON.parse(readFileSync(join(dir, ".isomesh/gen/echo-gateway/wrangler.json"), "utf8")).vars.BEACON_KEYS)
      .keys as { kid: string; d?: string }[]
  ).map((k) => k.kid);

it("gen creates the key file; rotate and retire change what the next gen gives the data plane", () => {
  copyFileSync("examples/echo/mesh.yaml", join(dir, "mesh.yaml"));
  expect(isomesh("keys", "list").stderr).toMatch(
    /no key file \.isomesh\/keys\/echo\.json \(isomesh gen or deploy creates one\)/,
  );

  const gen = isomesh("gen", "--no-exports");
  expect(gen.status, gen.stderr).toBe(0);
  expect(gen.stdout).toContain("created the mesh's beacon signing key in .isomesh/keys/echo.json");
  expect(gen.stdout).toContain(
    "npx isomesh keys secret --keys .isomesh/keys/echo.json | npx wrangler secret put BEACON_SIGNING_KEY --name echo-control",
  );
  expect(statSync(join(dir, ".isomesh/keys/echo.json")).mode & 0o777).toBe(0o600);
  const [first] = gatewayKeys();

  expect(isomesh("keys", "rotate").stdout).toMatch(/^added key \S+ to \.isomesh\/keys\/echo\.json: run isomesh deploy/);
  expect(isomesh("gen", "--no-exports").status).toBe(0);
  const rotated = gatewayKeys();
  expect(rotated).toHaveLength(2);
  expect(rotated[0]).toBe(first);
  const list = isomesh("keys", "list").stdout;
  expect(list).toMatch(new RegExp(`${first}\\s+verifies\\n`));
  expect(list).toMatch(new RegExp(`${rotated[1]}\\s+signs and verifies`));
  const secret = JSON.parse(isomesh("keys", "secret").stdout);
  expect(secret).toMatchObject({ kty: "OKP", crv: "Ed25519", kid: rotated[1] });
  expect(secret.d).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(isomesh("keys", "list", "-o", "json").stdout).not.toContain('"d"');

  expect(isomesh("keys", "retire").stdout).toMatch(/^retired 1 key in \.isomesh\/keys\/echo\.json: run isomesh deploy/);
  // What the next gen gives the data plane: the public half of the signing key alone.
  expect(JSON.parse(isomesh("keys", "list", "-o", "json").stdout).keys.map((k: { kid: string }) => k.kid)).toEqual([
    rotated[1],
  ]);
}, 240_000);
