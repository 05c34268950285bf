import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Every test run gets a temporary folder of its own as TMPDIR (each worker and every process a
 * test spawns inherit it), and the run fails if a test left anything in it: a test that makes a
 * temporary folder removes it (isomesh-gen-projects-* used to pile up by the hundred). The folder
 * is removed either way.
 */
export default function setup() {
  const outer = tmpdir();
  const dir = mkdtempSync(join(outer, "isomesh-test-run-"));
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  return () => {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    // Caches tools keep in TMPDIR whatever the test: tsx's compile cache (tsx-<uid>, every process
    // that runs the CLI) and wrangler's update check (update-check). Not leftovers.
    const left = readdirSync(dir).filter((f) => !/^(tsx-\d+|update-check)$/.test(f));
    rmSync(dir, { recursive: true, force: true });
    if (left.length)
      throw new Error(`tests left ${left.length} temporary file(s) or folder(s) behind: ${left.join(", ")}`);
  };
}
