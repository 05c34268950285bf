import { readFileSync } from "node:fs";
import { CliError } from "./client.ts";

/** Reads `-f` files (or - for stdin) into one multi-document body. */
export function readFiles(files: string[]): string {
  return files
    .map((f) => {
      try {
        return f === "-" ? readFileSync(0, "utf8") : readFileSync(f, "utf8");
      } catch (e) {
        throw new CliError(
          `cannot read ${f}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`,
        );
      }
    })
    .join("\n---\n");
}
