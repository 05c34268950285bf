import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";

// One `isomesh dev` per state folder: two control planes writing one SQLite store (and two
// workerds persisting the same D1, KV and Durable Objects) would mix two meshes' config and
// history. The lock is a file holding the owner's pid, created exclusively; a lock whose process
// is gone (or whose pid now belongs to another process) is stale and taken over.

const LOCK = "isomesh.lock";
type Owner = { pid: number; started: string | null; manifest: string };

/** When a process started (Linux: /proc/PID/stat's start time), so a reused pid is not mistaken for the owner. */
function startOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

function alive(owner: Owner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  return owner.started === null || startOf(owner.pid) === owner.started;
}

/** The state folder is in use by another live process. */
export class StateInUse extends Error {}

/**
 * Takes the state folder for this process; returns what releases it. Throws StateInUse, with a
 * one-line reason naming the other process, when another live `isomesh dev` holds it.
 */
export function lockState(state: string, manifest: string): () => void {
  mkdirSync(state, { recursive: true });
  const path = join(state, LOCK);
  const me: Owner = { pid: process.pid, started: startOf(process.pid), manifest };
  // Written whole, then linked into place: the link fails if the lock exists, and a reader never sees half a file.
  const mine = `${path}.${process.pid}`;
  writeFileSync(mine, JSON.stringify(me), { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        linkSync(mine, path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        const owner = JSON.parse(readFileSync(path, "utf8")) as Owner;
        if (owner.pid !== process.pid && alive(owner))
          throw new StateInUse(
            `the state folder ${relative(process.cwd(), state) || "."} is in use by another isomesh dev (pid ${owner.pid}, ${owner.manifest}): stop it, or give this one its own --state`,
          );
        rmSync(path, { force: true }); // stale: its process is gone
        continue;
      }
      return () => {
        try {
          if ((JSON.parse(readFileSync(path, "utf8")) as Owner).pid === process.pid) rmSync(path, { force: true });
        } catch {
          // already gone
        }
      };
    }
  } finally {
    rmSync(mine, { force: true });
  }
  throw new StateInUse(`the state folder ${state} is being taken by another isomesh dev: try again`);
}
