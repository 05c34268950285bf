import { existsSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The isomesh checkout (where workers/ lives), wherever the CLI is run from. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export const WORKER_ENTRY = {
  edge: join(REPO_ROOT, "workers/edge/index.ts"),
  control: join(REPO_ROOT, "workers/control/index.ts"),
  echo: join(REPO_ROOT, "workers/echo/index.ts"),
};

/** A manifest's `worker:` path: relative to the manifest, else to the repo; a folder means its index.ts. */
export function resolveWorkerEntry(path: string, manifestDir: string): string {
  for (const base of [manifestDir, process.cwd(), REPO_ROOT]) {
    const p = resolve(base, path);
    if (!existsSync(p)) continue;
    if (statSync(p).isDirectory()) {
      for (const f of ["index.ts", "src/index.ts", "index.js"]) if (existsSync(join(p, f))) return join(p, f);
      continue;
    }
    return p;
  }
  throw new Error(`worker "${path}" not found (looked relative to ${manifestDir} and ${REPO_ROOT})`);
}
