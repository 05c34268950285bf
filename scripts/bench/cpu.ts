import { execSync } from "node:child_process";
import { readFileSync } from "node:fs";

const TICKS = Number(execSync("getconf CLK_TCK").toString().trim()) || 100;

/** CPU seconds (user + system) used so far by the processes with this command name. */
export function cpuSecondsOf(command: string): number {
  let total = 0;
  for (const pid of execSync(`pgrep -x ${command} || true`).toString().split("\n").filter(Boolean)) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
      total += (Number(fields[11]) + Number(fields[12])) / TICKS;
    } catch {}
  }
  return total;
}
