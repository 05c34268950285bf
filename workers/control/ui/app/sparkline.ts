import { esc } from "./format.ts";

export type Point = { at: string; rps: number; successRate: number | null; p99: number | null };

/** A small SVG line over a short history; steps without a value (no traffic) break the line. */
export function sparkline(
  points: Point[],
  value: (p: Point) => number | null,
  title: string,
  width = 110,
  height = 22,
): string {
  const values = points.map(value);
  const known = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (known.length === 0)
    return `<svg class="spark" width="${width}" height="${height}" role="img" aria-label="${esc(title)}: no data"><line x1="1" y1="${height - 2}" x2="${width - 1}" y2="${height - 2}" class="spark-none"/></svg>`;
  const top = Math.max(1e-9, ...known);
  const x = (i: number) => (points.length > 1 ? (i / (points.length - 1)) * (width - 2) + 1 : width / 2);
  const y = (v: number) => height - 2 - (v / top) * (height - 4);
  const runs: string[] = [];
  let run: string[] = [];
  values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) {
      if (run.length) runs.push(run.join(" "));
      run = [];
    } else run.push(`${x(i).toFixed(1)},${y(v).toFixed(1)}`);
  });
  if (run.length) runs.push(run.join(" "));
  const lines = runs
    .map((r) =>
      r.includes(" ")
        ? `<polyline points="${r}"/>`
        : `<circle cx="${r.split(",")[0]}" cy="${r.split(",")[1]}" r="1.5"/>`,
    )
    .join("");
  return `<svg class="spark" width="${width}" height="${height}" role="img" aria-label="${esc(title)}"><title>${esc(title)}</title>${lines}</svg>`;
}
