import { COLORS, ago, esc, ms, num, statusClass } from "./format.ts";

export type TraceList = {
  traces: {
    traceId: string;
    at: string;
    spans: number;
    root: string | null;
    name: string | null;
    durationMs: number | null;
    status: number | null;
  }[];
};
export type Trace = {
  traceId: string;
  spans: {
    spanId: string;
    parentSpanId?: string;
    service: string;
    edge: string;
    name: string;
    startMs: number;
    durationMs: number;
    status: number;
  }[];
};

/** Recent traces; the status column is coloured by class (2xx, 3xx, 4xx, 5xx), not just "5xx or not". */
export function renderTraces(list: TraceList): string {
  if (!list.traces.length) return `<div class="empty">no traces yet</div>`;
  const rows = list.traces
    .map(
      (t) =>
        `<tr class="trace-row" data-trace="${esc(t.traceId)}"><td><code>${esc(t.traceId.slice(0, 12))}…</code></td><td>${esc(t.name ?? t.root ?? "(no root span yet)")}</td><td class="num">${num(t.spans)}</td><td class="num">${ms(t.durationMs)}</td><td class="num status ${statusClass(t.status)}">${num(t.status)}</td><td class="dim wide-only">${ago(t.at)}</td></tr>`,
    )
    .join("");
  return `<table id="traces-table"><tr><th>trace</th><th>root</th><th class="num">spans</th><th class="num">duration</th><th class="num">status</th><th class="wide-only">when</th></tr>${rows}</table>`;
}

/** One trace as a waterfall: spans nested under their parents on a shared time axis. */
export function renderWaterfall(t: Trace): string {
  if (!t.spans.length) return "";
  const start = Math.min(...t.spans.map((s) => s.startMs));
  const end = Math.max(...t.spans.map((s) => s.startMs + s.durationMs));
  const total = Math.max(1, end - start);
  const ids = new Set(t.spans.map((s) => s.spanId));
  const rows: [Trace["spans"][number], number][] = [];
  const walk = (parent: string | undefined, depth: number) =>
    t.spans
      .filter((s) => (parent ? s.parentSpanId === parent : !s.parentSpanId || !ids.has(s.parentSpanId)))
      .sort((a, b) => a.startMs - b.startMs)
      .forEach((s) => {
        rows.push([s, depth]);
        walk(s.spanId, depth + 1);
      });
  walk(undefined, 0);
  return `<h3>trace <code>${esc(t.traceId)}</code></h3><table id="waterfall-table">${rows
    .map(
      ([s, d]) =>
        `<tr><td class="span-name" style="padding-left:${8 + d * 14}px">${esc(s.edge)} <span class="dim">${esc(s.name)}</span></td><td class="span-bar"><span class="bar-track"><span class="bar" style="margin-left:${((s.startMs - start) / total) * 100}%;width:${Math.max(0.5, (s.durationMs / total) * 100)}%;background:${COLORS[statusClass(s.status)]}"></span></span></td><td class="num ${statusClass(s.status)}">${num(s.status)}</td><td class="num">${ms(s.durationMs)}</td></tr>`,
    )
    .join("")}</table>`;
}
