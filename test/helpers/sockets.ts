import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";

// The TCP ports a process tree listens on, read from Linux's /proc (no port is probed): for tests
// that must reach every socket of `isomesh dev` (its workerd child's included) before it says which.

/** A process and all its descendants. */
function tree(pid: number): number[] {
  const all = [pid];
  for (let i = 0; i < all.length; i++)
    for (const task of safe(() => readdirSync(`/proc/${all[i]}/task`), []))
      for (const child of safe(() => readFileSync(`/proc/${all[i]}/task/${task}/children`, "utf8"), "").split(" "))
        if (child.trim()) all.push(Number(child));
  return all;
}

function safe<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback; // the process (or the fd) went away meanwhile
  }
}

/**
 * The TCP ports the process tree of `pid` listens on now. `children`: only its descendants' own (a
 * socket of `pid` that a child inherited is still `pid`'s).
 */
export function listeningPorts(pid: number, o: { children?: boolean } = {}): number[] {
  if (o.children) {
    const own = new Set(socketPorts([pid]));
    return socketPorts(tree(pid).slice(1)).filter((p) => !own.has(p));
  }
  return socketPorts(tree(pid));
}

function socketPorts(pids: number[]): number[] {
  const inodes = new Set<string>();
  for (const p of pids)
    for (const fd of safe(() => readdirSync(`/proc/${p}/fd`), [])) {
      const link = safe(() => readlinkSync(`/proc/${p}/fd/${fd}`), "");
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m) inodes.add(m[1]);
    }
  const ports = new Set<number>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address, state 0A = LISTEN, inode in column 9
      if (cols.length > 9 && cols[3] === "0A" && inodes.has(cols[9])) ports.add(parseInt(cols[1].split(":")[1], 16));
    }
  }
  return [...ports].sort((a, b) => a - b);
}
