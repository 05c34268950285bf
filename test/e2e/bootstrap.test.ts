import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeTempDirs, tempDir } from "../helpers/temp-dir.ts";
import { echoManifest, gatewayRouteTo, startTestMesh, type TestMesh } from "../helpers/mesh.ts";

afterAll(removeTempDirs);

let mesh: TestMesh;
const dir = tempDir("isomesh-bootstrap");

beforeAll(async () => {
  writeFileSync(join(dir, "gateway.yaml"), gatewayRouteTo("web"));
  // Absolute path: the manifest is written to another temporary folder by startTestMesh.
  mesh = await startTestMesh(`${echoManifest({ web: ["v1"] })}defaults: [${join(dir, "gateway.yaml")}]\n`);
});
afterAll(() => mesh?.stop());

describe("a fresh state serves the manifest's defaults from the first request", () => {
  it("never answers 404 while the defaults are not yet applied (the edges keep their bootstrap)", async () => {
    // Nothing is applied here (isomesh dev would apply the defaults after start): the store is at
    // version 0, and every edge keeps re-reading its beacon (500 ms) for the whole loop.
    const statuses: number[] = [];
    const until = Date.now() + 2000;
    while (Date.now() < until) statuses.push((await mesh.get("/")).status);
    expect(new Set(statuses)).toEqual(new Set([200]));
    expect((await mesh.admin("/v1/version")).json().version).toBe(0);
  });
});
