import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { lockState, StateInUse } from "../../scripts/lib/state-lock.ts";

// One isomesh dev per state folder (scripts/lib/state-lock.ts); the refusal itself is tested end to end (e2e/state.test.ts).
const dir = mkdtempSync(join(tmpdir(), "isomesh-lock-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("takes over a lock whose process is gone, and releases only its own", () => {
  const gone = spawnSync(process.execPath, ["-e", ""]).pid!; // exited: its pid names no process now
  writeFileSync(join(dir, "isomesh.lock"), JSON.stringify({ pid: gone, started: null, manifest: "old.yaml" }));
  const release = lockState(dir, "mesh.yaml");
  expect(JSON.parse(readFileSync(join(dir, "isomesh.lock"), "utf8"))).toMatchObject({
    pid: process.pid,
    manifest: "mesh.yaml",
  });
  release();
  expect(existsSync(join(dir, "isomesh.lock"))).toBe(false);
});

it("a live process whose start time differs is not the owner (its pid was reused)", () => {
  writeFileSync(join(dir, "isomesh.lock"), JSON.stringify({ pid: process.ppid, started: "0", manifest: "old.yaml" }));
  lockState(dir, "mesh.yaml")();
});

it("refuses a live owner, naming it", () => {
  const other = { pid: process.ppid, started: null, manifest: "other.yaml" };
  writeFileSync(join(dir, "isomesh.lock"), JSON.stringify(other));
  expect(() => lockState(dir, "mesh.yaml")).toThrow(StateInUse);
  expect(() => lockState(dir, "mesh.yaml")).toThrow(
    `is in use by another isomesh dev (pid ${process.ppid}, other.yaml)`,
  );
});
