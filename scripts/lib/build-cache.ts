import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";

/**
 * What a build was made from: a key (the build's settings) and the hash of every file it read, so a
 * restart rebuilds only what changed (by content, not by time: a checkout rewrites every mtime).
 */
type Stamp = { key: string; inputs: Record<string, string> };

export const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const hashFile = (path: string) => (existsSync(path) ? sha256(readFileSync(path)) : "missing");

/** Whether the build stamped at `stampPath` was made with `key` from files that are all unchanged. */
export function isFresh(stampPath: string, key: string): boolean {
  if (!existsSync(stampPath)) return false;
  try {
    const stamp = JSON.parse(readFileSync(stampPath, "utf8")) as Stamp;
    return stamp.key === key && Object.entries(stamp.inputs).every(([p, h]) => hashFile(p) === h);
  } catch {
    return false;
  }
}

/** Records what a build read (absolute paths; ones that are not files, like virtual modules, are skipped). */
export function stamp(stampPath: string, key: string, inputs: string[]) {
  const files = inputs.filter((p) => existsSync(p));
  writeFileSync(
    stampPath,
    JSON.stringify({ key, inputs: Object.fromEntries(files.map((p) => [p, hashFile(p)])) } satisfies Stamp),
  );
}
