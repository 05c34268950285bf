import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The isomesh checkout (where workers/ lives), wherever the CLI is run from. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export const WORKER_ENTRY = {
  edge: join(REPO_ROOT, "workers/edge/index.ts"),
  control: join(REPO_ROOT, "workers/control/index.ts"),
  echo: join(REPO_ROOT, "workers/echo/index.ts"),
};
