import { readdirSync, readFileSync } from "node:fs";

/** The pids of `root` and every process below it (from /proc: Linux only). */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1].split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {} // exited meanwhile
  }
  const out: number[] = [];
  const visit = (pid: number) => {
    out.push(pid);
    for (const c of children.get(pid) ?? []) visit(c);
  };
  visit(root);
  return out;
}

const commandOf = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
};

/** Resident memory (bytes) of the processes named `command` at or below `root` (e.g. the workerd a Miniflare started). */
export function rssBelow(root: number, command: string): number {
  let bytes = 0;
  for (const pid of descendants(root)) {
    if (commandOf(pid) !== command) continue;
    try {
      bytes += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;
    } catch {} // exited meanwhile
  }
  return bytes;
}
