import { COLORS, ago, esc, ms, num, statusClass } from "./format.ts";

export type TraceRow = {
  traceId: string;
  at: string;
  spans: number;
  root: string | null;
  name: string | null;
  durationMs: number | null;
  status: number | null;
};
export type TraceList = { traces: TraceRow[] };

/** Newest first by when the trace began, then by id: the same traces always come in the same order. */
const byStart = (a: TraceRow, b: TraceRow) => b.at.localeCompare(a.at) || a.traceId.localeCompare(b.traceId);

/**
 * The rows the list shows after a poll. While `paused` (the pointer is on the list, or a trace is
 * open) the rows shown stay exactly as they are, so what is clicked is what was seen; the traces
 * that arrived meanwhile are only counted (`newer`) until the pause ends.
 */
export function nextTraceRows(
  shown: TraceRow[] | null,
  fresh: TraceRow[],
  paused: boolean,
): { rows: TraceRow[]; newer: number } {
  if (paused && shown) {
    const ids = new Set(shown.map((t) => t.traceId));
    return { rows: shown, newer: fresh.filter((t) => !ids.has(t.traceId)).length };
  }
  return { rows: [...fresh].sort(byStart), newer: 0 };
}
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

/**
 * Recent traces; the status column is coloured by class (2xx, 3xx, 4xx, 5xx), not just "5xx or
 * not"; the open trace is marked, and a paused list says so and how many newer traces wait.
 */
export function renderTraces(
  rows: TraceRow[],
  view: { selected: string | null; paused: boolean; newer: number } = { selected: null, paused: false, newer: 0 },
): string {
  if (!rows.length) return `<div class="empty">no traces yet</div>`;
  const body = rows
    .map(
      (t) =>
        `<tr class="trace-row${t.traceId === view.selected ? " selected" : ""}" data-trace="${esc(t.traceId)}"><td><code>${esc(t.traceId.slice(0, 12))}…</code></td><td>${esc(t.name ?? t.root ?? "(no root span yet)")}</td><td class="num">${num(t.spans)}</td><td class="num">${ms(t.durationMs)}</td><td class="num status ${statusClass(t.status)}">${num(t.status)}</td><td class="dim wide-only">${ago(t.at)}</td></tr>`,
    )
    .join("");
  const note = view.paused
    ? `<div class="paused dim small" id="traces-paused">paused while ${view.selected ? "a trace is open" : "the pointer is on the list"}${view.newer ? ` · ${view.newer} newer` : ""}${view.selected ? ` <button class="secondary" id="close-trace">close trace</button>` : ""}</div>`
    : "";
  return `${note}<table id="traces-table"><tr><th>trace</th><th>root</th><th class="num">spans</th><th class="num">duration</th><th class="num">status</th><th class="wide-only">when</th></tr>${body}</table>`;
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
