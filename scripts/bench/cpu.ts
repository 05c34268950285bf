import { execSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { descendants } from "./process-tree.ts";

const TICKS = Number(execSync("getconf CLK_TCK").toString().trim()) || 100;

/**
 * CPU seconds (user + system) used so far by the processes with this command name that this
 * benchmark started (below this process): the machine may run other workerd processes.
 */
export function cpuSecondsOf(command: string, root = process.pid): number {
  let total = 0;
  for (const pid of descendants(root)) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== command) continue;
      total += cpuSecondsOfPid(pid);
    } catch {} // exited meanwhile
  }
  return total;
}

/** CPU seconds (user + system, every thread) one process has used so far. */
export function cpuSecondsOfPid(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}
