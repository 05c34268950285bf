import type { Document } from "../../../shared/resources/parse.ts";
import type { RolloutStatus } from "../../../shared/resources/rollout.ts";
import { type Change, type ChangeSummary, changesDocument } from "./changes.ts";
import type { ChangeRow, ConfigTables, HistoryRow } from "./config-tables.ts";

export type HistoryEntry = { version: number; at: string; by: string; note?: string; changes: ChangeSummary[] };
export type ResourceChange = { kind: string; name: string; before: Document | null; after: Document | null };
/** One version in full (GET /v1/history/{version}): each changed resource before and after it. */
export type HistoryDetail = HistoryEntry & { resources: ResourceChange[] };

const summaryOf = (r: ChangeRow): ChangeSummary => ({
  kind: r.kind,
  name: r.name,
  op: r.op,
  ...(r.fields ? { fields: JSON.parse(r.fields) as string[] } : {}),
  ...(r.note ? { note: r.note } : {}),
});

const entryOf = (h: HistoryRow, rows: ChangeRow[]): HistoryEntry => ({
  version: h.version,
  at: new Date(h.at).toISOString(),
  by: h.by,
  ...(h.note !== null ? { note: h.note } : {}),
  changes: rows.map(summaryOf),
});

/** The newest `limit` versions, newest first. */
export function historyEntries(tables: ConfigTables, limit: number): HistoryEntry[] {
  const rows = tables.historyRows(limit);
  if (rows.length === 0) return [];
  const changes = tables.changeRows(rows[rows.length - 1].version, rows[0].version);
  return rows.map((h) =>
    entryOf(
      h,
      changes.filter((c) => c.version === h.version),
    ),
  );
}

/**
 * One version with the documents it changed: `before` is the resource as the previous version had
 * it, `after` as this one left it (null where it did not exist). A Rollout's weight change shows
 * the same spec with the status before and after.
 */
export function historyDetail(tables: ConfigTables, version: number): HistoryDetail | undefined {
  const h = tables.historyRow(version);
  if (!h) return undefined;
  const rows = tables.changeRows(version, version);
  const resources = rows.map((r): ResourceChange => {
    const before = tables.documentAt(r.kind, r.name, version - 1);
    if (changesDocument(r.op))
      return { kind: r.kind, name: r.name, before, after: r.doc ? (JSON.parse(r.doc) as Document) : null };
    const status = r.status ? (JSON.parse(r.status) as { before: RolloutStatus; after: RolloutStatus }) : undefined;
    const withStatus = (s: RolloutStatus | undefined) =>
      before && s ? ({ ...before, status: s } as Document) : before;
    return { kind: r.kind, name: r.name, before: withStatus(status?.before), after: withStatus(status?.after) };
  });
  return { ...entryOf(h, rows), resources };
}

/** The newest versions with their documents inline (GET /v1/history?full=true). */
export function historyWithDocuments(
  tables: ConfigTables,
  limit: number,
): (Omit<HistoryEntry, "changes"> & { changes: Change[] })[] {
  return historyEntries(tables, limit).map((e) => {
    const detail = historyDetail(tables, e.version)!;
    return {
      ...e,
      changes: e.changes.map((c, i) => {
        const r = detail.resources[i];
        return { ...c, ...(r.before ? { before: r.before } : {}), ...(r.after ? { after: r.after } : {}) };
      }),
    };
  });
}
