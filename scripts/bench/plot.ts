import type { HopRow } from "./hop.ts";

/** Latency percentile curves (p0–p99.9, log-scaled x) as a self-contained SVG. */
export function latencySvg(rows: HopRow[]): string {
  const W = 760,
    H = 360,
    L = 60,
    R = 210,
    T = 20,
    B = 50;
  const qs = Array.from({ length: 60 }, (_, i) => 1 - Math.pow(10, -(i / 59) * 3)); // 0 .. 0.999
  const x = (q: number) => L + (-Math.log10(1 - q) / 3) * (W - L - R);
  const at = (s: number[], q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
  const maxY = Math.max(...rows.map((r) => at(r.samples, 0.999))) * 1.1 || 1;
  const y = (v: number) => T + (1 - v / maxY) * (H - T - B);
  const colors = ["#4c78a8", "#72b7b2", "#e45756", "#f58518", "#b279a2"];
  const lines = rows.map(
    (r, i) =>
      `<polyline fill="none" stroke="${colors[i % colors.length]}" stroke-width="2" points="${qs.map((q) => `${x(q).toFixed(1)},${y(at(r.samples, q)).toFixed(1)}`).join(" ")}"/><text x="${W - R + 12}" y="${T + 16 + i * 20}" fill="${colors[i % colors.length]}" font-size="12">${r.name}</text>`,
  );
  const ticks = [0, 0.5, 0.9, 0.99, 0.999].map(
    (q) =>
      `<line x1="${x(q)}" x2="${x(q)}" y1="${T}" y2="${H - B}" stroke="#ddd"/><text x="${x(q)}" y="${H - B + 16}" font-size="11" text-anchor="middle">p${(q * 100).toFixed(q >= 0.99 ? 1 : 0).replace(".0", "")}</text>`,
  );
  const yTicks = [0, 0.25, 0.5, 0.75, 1].map(
    (f) =>
      `<text x="${L - 6}" y="${y(f * maxY) + 4}" font-size="11" text-anchor="end">${(f * maxY).toFixed(2)}</text><line x1="${L}" x2="${W - R}" y1="${y(f * maxY)}" y2="${y(f * maxY)}" stroke="#eee"/>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="Helvetica, Arial, sans-serif"><rect width="100%" height="100%" fill="white"/>${yTicks.join("")}${ticks.join("")}${lines.join("")}<text x="${(L + W - R) / 2}" y="${H - 10}" font-size="12" text-anchor="middle">percentile (coordinated-omission-corrected latency)</text><text x="14" y="${(T + H - B) / 2}" font-size="12" transform="rotate(-90 14 ${(T + H - B) / 2})" text-anchor="middle">latency (ms)</text></svg>`;
}
