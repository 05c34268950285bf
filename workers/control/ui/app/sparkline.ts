import { esc } from "./format.ts";

export type Point = { at: string; rps: number; successRate: number | null; p99: number | null };

/** A small SVG line over a short history, drawn through the steps without a value (no traffic). */
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
  // One line through every step that has a value: a step with no requests has no p99, and breaking
  // the line there drew a quiet service's p99 as scattered dots. A lone value is a dot.
  const drawn = values.flatMap((v, i) =>
    v === null || !Number.isFinite(v) ? [] : [`${x(i).toFixed(1)},${y(v).toFixed(1)}`],
  );
  const lines =
    drawn.length > 1
      ? `<polyline points="${drawn.join(" ")}"/>`
      : `<circle cx="${drawn[0].split(",")[0]}" cy="${drawn[0].split(",")[1]}" r="1.5"/>`;
  return `<svg class="spark" width="${width}" height="${height}" role="img" aria-label="${esc(title)}"><title>${esc(title)}</title>${lines}</svg>`;
}
