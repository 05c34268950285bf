import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { startDev, type DevProcess } from "../helpers/dev-process.ts";
import { http } from "../helpers/http.ts";
import { echoManifest, gatewayRouteTo } from "../helpers/mesh.ts";

// One state per mesh (DESIGN §3): without --state, each manifest's state is `.isomesh/<its name>`
// in the working folder, so two meshes run side by side without reading each other's config; a
// second `isomesh dev` on a state in use is refused with one line naming the other process.
const cwd = mkdtempSync(join(tmpdir(), "isomesh-state-"));
const running: DevProcess[] = [];
afterAll(async () => {
  for (const d of running) await d.stop();
  rmSync(cwd, { recursive: true, force: true });
});
writeFileSync(join(cwd, "a.yaml"), echoManifest({ web: ["v1"] }).replace("name: test", "name: alpha"));
writeFileSync(join(cwd, "b.yaml"), echoManifest({ api: ["v1"] }).replace("name: test", "name: beta"));
const dev = async (manifest: string, extra: string[] = []) => {
  const d = await startDev({ manifest, cwd, extra });
  running.push(d);
  return d;
};
const resources = async (d: DevProcess) =>
  (await http(`${d.adminUrl}/v1/resources`, { headers: { authorization: `Bearer ${d.token}` } })).json();

it("keeps each mesh's state in its own folder, and refuses a second isomesh dev on a state in use", async () => {
  const alpha = await dev("a.yaml");
  expect(existsSync(join(cwd, ".isomesh/alpha/v3"))).toBe(true);
  const applied = await http(`${alpha.adminUrl}/v1/apply?wait=true`, {
    method: "POST",
    body: gatewayRouteTo("web"),
    headers: { authorization: `Bearer ${alpha.token}` },
  });
  expect(applied.status).toBe(200);

  // Another manifest beside it: its own state, none of alpha's config.
  const beta = await dev("b.yaml");
  expect(existsSync(join(cwd, ".isomesh/beta/v3"))).toBe(true);
  expect((await resources(beta)).items).toEqual([]);
  expect(beta.output()).not.toMatch(/warning: HTTPRoute/); // no broken references to the other mesh's services

  // The same manifest again: refused in one line that names the running process.
  const again = startDev({ manifest: "a.yaml", cwd });
  await expect(again).rejects.toThrow(
    new RegExp(
      `isomesh dev exited with 1:\\n[^\\n]*\\n?isomesh: the state folder \\.isomesh/alpha is in use by another isomesh dev \\(pid ${alpha.proc.pid}, a\\.yaml\\): stop it, or give this one its own --state\\n?$`,
    ),
  );
  expect(JSON.parse(readFileSync(join(cwd, ".isomesh/alpha/isomesh.lock"), "utf8")).pid).toBe(alpha.proc.pid);

  // --state still overrides; and once alpha stops, its state is free again and keeps its config.
  const elsewhere = await dev("a.yaml", ["--state", join(cwd, "elsewhere")]);
  expect((await resources(elsewhere)).items).toEqual([]);
  expect(await alpha.stop()).toBe(0);
  expect(existsSync(join(cwd, ".isomesh/alpha/isomesh.lock"))).toBe(false);
  const restarted = await dev("a.yaml");
  expect(JSON.stringify(await resources(restarted))).toContain('"name":"web"');
}, 300_000); // five starts of isomesh dev
