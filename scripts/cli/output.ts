import { stringify } from "yaml";

/** Colour only on a terminal and never with NO_COLOR (https://no-color.org). */
export const useColor = () => !!process.stdout.isTTY && !("NO_COLOR" in process.env);

const paint = (code: number) => (s: string) => (useColor() ? `\x1b[${code}m${s}\x1b[0m` : s);
export const c = {
  green: paint(32),
  red: paint(31),
  yellow: paint(33),
  dim: paint(2),
  bold: paint(1),
  cyan: paint(36),
};

export type OutputFormat = "table" | "json" | "yaml" | "dot" | "wide";

/** Prints structured output as JSON or YAML when asked; returns false when the caller should print a table. */
export function printStructured(format: string | undefined, value: unknown): boolean {
  if (format === "json") {
    console.log(JSON.stringify(value, null, 2));
    return true;
  }
  if (format === "yaml") {
    process.stdout.write(stringify(value));
    return true;
  }
  return false;
}

// Strips ANSI colour codes when measuring column widths.
const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "").length;

/** A plain aligned table, kubectl style. */
export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = rows.map((r) => r.map((v) => (v === null || v === undefined ? "-" : String(v))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => visible(r[i] ?? ""))));
  const line = (r: string[]) =>
    r
      .map((v, i) => v + " ".repeat(Math.max(0, widths[i] - visible(v))))
      .join("   ")
      .trimEnd();
  return [line(headers.map((h) => c.bold(h))), ...cells.map(line)].join("\n");
}
