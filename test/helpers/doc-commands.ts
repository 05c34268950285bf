import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The README and every guide under docs/. */
export const DOC_FILES = [
  "README.md",
  ...readdirSync("docs").flatMap((f) => (f.endsWith(".md") ? [join("docs", f)] : [])),
];

export type DocCommand = { file: string; line: number; command: string };

/** A command as a reader types it: no prompt, no trailing `# comment`, continuation lines joined. */
const clean = (text: string) =>
  text
    .replace(/^\$ /, "")
    .replace(/\s+#\s.*$/, "")
    .trim();

/**
 * Every command a reader may run: each line of a ```sh block (a trailing `\\` continues it), each
 * `$ ` line of an output block, and inline code that starts with npx, npm, node or curl.
 */
export function docCommands(files = DOC_FILES): DocCommand[] {
  const out: DocCommand[] = [];
  for (const file of files) {
    const lines = readFileSync(file, "utf8").split("\n");
    let fence: string | undefined;
    for (let i = 0; i < lines.length; i++) {
      const open = /^\s*```(\w*)\s*$/.exec(lines[i]);
      if (open) {
        fence = fence === undefined ? open[1] : undefined;
        continue;
      }
      const text = lines[i].trim();
      if (fence === "sh" && text && !text.startsWith("#")) {
        let command = text;
        const line = i + 1;
        while (command.endsWith("\\") && i + 1 < lines.length)
          command = `${command.slice(0, -1).trim()} ${lines[++i].trim()}`;
        out.push({ file, line, command: clean(command) });
      } else if (fence === "" && text.startsWith("$ ")) out.push({ file, line: i + 1, command: clean(text) });
      else if (fence === undefined)
        for (const [, code] of lines[i].matchAll(/`((?:npx|npm|node|curl) [^`]+)`/g))
          out.push({ file, line: i + 1, command: clean(code) });
    }
  }
  return out;
}
