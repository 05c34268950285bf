import { unifiedDiff } from "../../../../shared/resources/yaml-diff.ts";
import { clock, esc } from "./format.ts";

export type HistoryList = {
  entries: {
    version: number;
    at: string;
    by: string;
    note?: string;
    changes: { kind: string; name: string; op: string; fields?: string[] }[];
  }[];
};
export type HistoryEntry = {
  version: number;
  at: string;
  by: string;
  note?: string;
  changes: { kind: string; name: string; op: string }[];
  resources: { kind: string; name: string; before: unknown; after: unknown }[];
};

const opClass = (op: string) => (op === "removed" ? "bad" : op === "added" ? "ok" : "warn");

export function renderHistory(h: HistoryList, open: Set<number>, diffs: Map<number, string>): string {
  if (!h.entries.length) return `<div class="empty">no changes yet</div>`;
  const rows = h.entries
    .map((e) => {
      const changes = e.changes
        .map((c) => `<span class="${opClass(c.op)}">${esc(c.op)}</span> ${esc(`${c.kind}/${c.name}`)}`)
        .join("<br>");
      const diff = open.has(e.version)
        ? `<tr class="diff-row"><td colspan="5">${diffs.get(e.version) ?? `<span class="dim">loading…</span>`}</td></tr>`
        : "";
      return `<tr><td class="num">${e.version}</td><td class="dim">${clock(e.at)}</td><td>${esc(e.by)}</td><td>${changes}${e.note ? `<br><span class="dim">${esc(e.note)}</span>` : ""}</td><td class="actions"><button class="secondary show-diff" data-version="${e.version}">${open.has(e.version) ? "hide diff" : "diff"}</button> ${e.version > 0 ? `<button class="secondary rollback" data-version="${e.version - 1}">roll back to ${e.version - 1}</button>` : ""}</td></tr>${diff}`;
    })
    .join("");
  return `<table id="history-table"><tr><th class="num">version</th><th>when</th><th>by</th><th>changes</th><th></th></tr>${rows}</table>`;
}

/** One entry's resources, each as a unified diff from the previous version (the CLI's `history VERSION`). */
export function renderDiff(e: HistoryEntry): string {
  if (!e.resources.length) return `<span class="dim">no change</span>`;
  return e.resources
    .map((r) => {
      const lines = unifiedDiff(
        `${r.kind}/${r.name}`,
        r.before,
        r.after,
        { from: `v${e.version - 1}`, to: `v${e.version}` },
        { withStatus: true },
      ).slice(1);
      const body = lines.length
        ? lines.map((l) => `<span class="d-${l.kind}">${esc(l.text)}</span>`).join("\n")
        : `<span class="dim">no change</span>`;
      return `<pre class="diff">${body}</pre>`;
    })
    .join("");
}
