/** One sample of a Prometheus text exposition: `name{labels} value`. */
export type Sample = { name: string; labels: Record<string, string>; value: number };

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
const unescape = (v: string) => v.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));

/** Parses the samples of a text exposition (format 0.0.4); throws on a line it cannot read. */
export function parseExposition(text: string): Sample[] {
  return text
    .split("\n")
    .filter((l) => l.trim() && !l.startsWith("#"))
    .map((line) => {
      const m = LINE.exec(line);
      if (!m) throw new Error(`not a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const [, k, v] of (m[2] ?? "").matchAll(LABEL)) labels[k] = unescape(v);
      return { name: m[1], labels, value: Number(m[3]) };
    });
}

/** A series' identity: its name and its labels, in any order. */
export const seriesKey = (s: Pick<Sample, "name" | "labels">) =>
  `${s.name}${JSON.stringify(Object.entries(s.labels).sort(([a], [b]) => a.localeCompare(b)))}`;

/** Every series that appears more than once (Prometheus rejects the second sample of a scrape). */
export function duplicateSeries(samples: Sample[]): string[] {
  const seen = new Map<string, number>();
  for (const s of samples) seen.set(seriesKey(s), (seen.get(seriesKey(s)) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([k]) => k);
}
