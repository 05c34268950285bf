import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

// A `|` inside a table cell ends the cell, even in a code span (GFM): `stat [-w 1m|5m]` broke its
// row into extra columns. Every row of every table in the README and docs/ has its header's cells.

const docs = ["README.md", ...readdirSync("docs").flatMap((f) => (f.endsWith(".md") ? [join("docs", f)] : []))];
const cells = (row: string) =>
  row
    .trim()
    .replace(/^\|/, "")
    .replace(/\|$/, "")
    .split(/(?<!\\)\|/).length;

const tables = docs.flatMap((file) => {
  const lines = readFileSync(file, "utf8").split("\n");
  const out: { where: string; header: number; rows: [number, number][] }[] = [];
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!lines[i].trim().startsWith("|") || !/^\s*\|[\s:|-]+\|\s*$/.test(lines[i + 1])) continue;
    const table = { where: `${file}:${i + 1}`, header: cells(lines[i]), rows: [] as [number, number][] };
    for (let j = i + 2; j < lines.length && lines[j].trim().startsWith("|"); j++)
      table.rows.push([j + 1, cells(lines[j])]);
    out.push(table);
  }
  return out;
});

describe("markdown tables in the README and docs", () => {
  it("are found", () => expect(tables.length).toBeGreaterThan(10));
  it.each(tables.map((t) => [t.where, t] as const))("%s: every row has the header's cells", (_w, t) => {
    expect(t.rows.filter(([, n]) => n !== t.header).map(([line]) => `line ${line}`)).toEqual([]);
  });
});
