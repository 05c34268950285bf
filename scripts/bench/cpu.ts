import { execSync } from "node:child_process";
import { readFileSync } from "node:fs";

const TICKS = Number(execSync("getconf CLK_TCK").toString().trim()) || 100;

/** A process's stat fields after its command name: [state, ppid, …]; utime and stime are 11 and 12. */
const statOf = (pid: number | string) => readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");

/** Whether `pid` is this benchmark's own descendant: the machine may run other meshes' workerd too. */
function ours(pid: string): boolean {
  let p = Number(pid);
  for (let depth = 0; depth < 16 && p > 1; depth++) {
    if (p === process.pid) return true;
    p = Number(statOf(p)[1]);
  }
  return false;
}

/** CPU seconds (user + system) used so far by this process's descendants with this command name. */
export function cpuSecondsOf(command: string): number {
  let total = 0;
  for (const pid of execSync(`pgrep -x ${command} || true`).toString().split("\n").filter(Boolean)) {
    try {
      if (!ours(pid)) continue;
      const fields = statOf(pid);
      total += (Number(fields[11]) + Number(fields[12])) / TICKS;
    } catch {}
  }
  return total;
}
