import { ago, esc, num } from "./format.ts";
import type { Pager } from "./pager.ts";

export type Status = {
  version: number;
  converged: number;
  edges: {
    edge: string;
    state: string;
    version: number | null;
    lastSeen: string | null;
    isolates?: number;
    error?: string;
  }[];
};

const COLLAPSE_OVER = 12;
const ORDER: Record<string, number> = { rejected: 0, stale: 1, idle: 2, synced: 3 };
export const stateClass = (s: string) =>
  s === "synced" ? "ok" : s === "rejected" ? "bad" : s === "idle" ? "dim" : "warn";

/** Edge sync status (like istioctl proxy-status): a count per state, then the edges, problems first, paged. */
export function renderEdges(status: Status, query: string, showAll: boolean, pager: Pager): string {
  const counts = new Map<string, number>();
  for (const e of status.edges) counts.set(e.state, (counts.get(e.state) ?? 0) + 1);
  const summary = [...counts]
    .sort((a, b) => (ORDER[a[0]] ?? 9) - (ORDER[b[0]] ?? 9))
    .map(([s, n]) => `<span class="${stateClass(s)}">${n} ${esc(s)}</span>`)
    .join(" · ");
  const q = query.trim().toLowerCase();
  const all = status.edges
    .filter((e) => !q || e.edge.toLowerCase().includes(q))
    .sort((a, b) => (ORDER[a.state] ?? 9) - (ORDER[b.state] ?? 9) || a.edge.localeCompare(b.edge));
  // On a big mesh synced edges are the boring majority: listed only on request (or when searching).
  const collapse = status.edges.length > COLLAPSE_OVER && !showAll && !q;
  const listed = collapse ? all.filter((e) => e.state !== "synced") : all;
  const page = pager.slice(listed);
  const rows = page.rows
    .map(
      (e) =>
        `<tr><td>${esc(e.edge)}</td><td class="${stateClass(e.state)}">${esc(e.state)}</td><td class="num">${num(e.version)}</td><td class="dim">${e.lastSeen ? ago(e.lastSeen) : "never"}${e.error ? ` <span class="bad">${esc(e.error)}</span>` : ""}</td></tr>`,
    )
    .join("");
  const hidden = all.length - listed.length;
  const toggle =
    hidden > 0
      ? `<button class="secondary" id="edges-toggle">show ${hidden} synced</button>`
      : showAll && !q && status.edges.length > COLLAPSE_OVER
        ? `<button class="secondary" id="edges-toggle">hide synced</button>`
        : "";
  const table = page.rows.length
    ? `<table id="edge-table"><tr><th>edge</th><th>state</th><th class="num">version</th><th>last seen</th></tr>${rows}</table>`
    : "";
  return `<div class="summary">${summary || "no edges"} ${toggle}</div>${table}${page.controls}`;
}
