import type { Beacon } from "../../../shared/snapshot/distribution.ts";
import type { Document } from "../../../shared/resources/parse.ts";
import type { RolloutStatus } from "../../../shared/resources/rollout.ts";
import { type Change, changesDocument } from "./changes.ts";
import type { PublishedSnapshot } from "./publish.ts";

export type HistoryRow = { version: number; at: number; by: string; note: string | null };
export type ChangeRow = {
  version: number;
  seq: number;
  kind: string;
  name: string;
  op: Change["op"];
  fields: string | null;
  note: string | null;
  doc: string | null;
  status: string | null;
};
export type SnapshotRow = { edge: string; hash: string; content_hash: string; version: number };

/** What one version writes: its history entry, its changes, and the resources as they now are. */
export type VersionRecord = {
  version: number;
  at: number;
  by: string;
  note?: string;
  changes: Change[];
  /** The stored form of every added or changed resource. */
  stored: Map<string, { doc: Document; createdAt: number }>;
};

const DOC_OPS = "op IN ('added', 'changed', 'removed')";

/**
 * The ConfigStore's SQLite tables (see migrations.ts): resources, history and its changes,
 * compiled snapshots, rollout status, and meta (version, beacon, topology, defaults). Plain reads
 * and writes; callers run the writes of one change inside one transaction.
 */
export class ConfigTables {
  constructor(private readonly sql: SqlStorage) {}

  meta(key: string): string | undefined {
    return this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0]?.value;
  }

  setMeta(key: string, value: string): void {
    this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", key, value);
  }

  version(): number {
    return Number(this.meta("version") ?? 0);
  }

  beacon(): Beacon | undefined {
    const text = this.meta("beacon");
    return text ? (JSON.parse(text) as Beacon) : undefined;
  }

  resources(): { doc: Document; createdAt: number }[] {
    return this.sql
      .exec<{ doc: string; created_at: number }>("SELECT doc, created_at FROM resources")
      .toArray()
      .map((r) => ({ doc: JSON.parse(r.doc) as Document, createdAt: r.created_at }));
  }

  rolloutStatuses(): Map<string, RolloutStatus> {
    return new Map(
      this.sql
        .exec<{ name: string; status: string }>("SELECT name, status FROM rollout_status")
        .toArray()
        .map((r) => [r.name, JSON.parse(r.status) as RolloutStatus]),
    );
  }

  snapshots(): Map<string, SnapshotRow> {
    return new Map(
      this.sql
        .exec<SnapshotRow>("SELECT edge, hash, content_hash, version FROM snapshots")
        .toArray()
        .map((r) => [r.edge, r]),
    );
  }

  snapshotBody(edge: string): { body: string; hash: string } | undefined {
    return this.sql
      .exec<{ body: string; hash: string }>("SELECT body, hash FROM snapshots WHERE edge = ?", edge)
      .toArray()[0];
  }

  historyRows(limit: number): HistoryRow[] {
    return this.sql
      .exec<HistoryRow>("SELECT version, at, by, note FROM history ORDER BY version DESC LIMIT ?", limit)
      .toArray();
  }

  historyRow(version: number): HistoryRow | undefined {
    return this.sql
      .exec<HistoryRow>("SELECT version, at, by, note FROM history WHERE version = ?", version)
      .toArray()[0];
  }

  /** The changes of versions `from` to `to`, in order. */
  changeRows(from: number, to: number): ChangeRow[] {
    return this.sql
      .exec<ChangeRow>("SELECT * FROM history_changes WHERE version BETWEEN ? AND ? ORDER BY version, seq", from, to)
      .toArray();
  }

  /** A resource's document as of `version` (null: it did not exist then). */
  documentAt(kind: string, name: string, version: number): Document | null {
    const row = this.sql
      .exec<{ doc: string | null }>(
        `SELECT doc FROM history_changes WHERE kind = ? AND name = ? AND version <= ? AND ${DOC_OPS} ORDER BY version DESC LIMIT 1`,
        kind,
        name,
        version,
      )
      .toArray()[0];
    return row?.doc ? (JSON.parse(row.doc) as Document) : null;
  }

  /** Every resource's document as of `version`: the config a rollback to it restores. */
  documentsAt(version: number): Document[] {
    return this.sql
      .exec<{ doc: string | null }>(
        `SELECT c.doc FROM history_changes c WHERE c.version <= ? AND c.${DOC_OPS}
           AND c.version = (SELECT MAX(d.version) FROM history_changes d WHERE d.kind = c.kind AND d.name = c.name AND d.version <= ? AND d.${DOC_OPS})`,
        version,
        version,
      )
      .toArray()
      .flatMap((r) => (r.doc ? [JSON.parse(r.doc) as Document] : []));
  }

  // ---- writes (inside the caller's transaction) ----

  writeVersion(v: VersionRecord): void {
    v.changes.forEach((c, seq) => {
      const stored = v.stored.get(`${c.kind}/${c.name}`);
      if (c.op === "removed") this.sql.exec("DELETE FROM resources WHERE kind = ? AND name = ?", c.kind, c.name);
      else if (changesDocument(c.op) && stored)
        this.sql.exec(
          "INSERT OR REPLACE INTO resources (kind, name, doc, created_at, version) VALUES (?, ?, ?, ?, ?)",
          c.kind,
          c.name,
          JSON.stringify(stored.doc),
          stored.createdAt,
          v.version,
        );
      this.sql.exec(
        "INSERT INTO history_changes (version, seq, kind, name, op, fields, note, doc, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        v.version,
        seq,
        c.kind,
        c.name,
        c.op,
        c.fields ? JSON.stringify(c.fields) : null,
        c.note ?? null,
        changesDocument(c.op) && c.op !== "removed" && stored ? JSON.stringify(stored.doc) : null,
        c.status ? JSON.stringify(c.status) : null,
      );
    });
    this.sql.exec(
      "INSERT INTO history (version, at, by, note) VALUES (?, ?, ?, ?)",
      v.version,
      v.at,
      v.by,
      v.note ?? null,
    );
    this.setMeta("version", String(v.version));
  }

  writeRolloutStatuses(statuses: Map<string, RolloutStatus>): void {
    this.sql.exec("DELETE FROM rollout_status");
    for (const [name, status] of statuses)
      this.sql.exec("INSERT INTO rollout_status (name, status) VALUES (?, ?)", name, JSON.stringify(status));
  }

  writeSnapshots(snapshots: PublishedSnapshot[], beacon: Beacon, removedEdges: string[] = []): void {
    for (const s of snapshots)
      this.sql.exec(
        "INSERT OR REPLACE INTO snapshots (edge, hash, content_hash, body, version) VALUES (?, ?, ?, ?, ?)",
        s.edge,
        s.hash,
        s.contentHash,
        s.body,
        s.version,
      );
    for (const edge of removedEdges) this.sql.exec("DELETE FROM snapshots WHERE edge = ?", edge);
    this.setMeta("beacon", JSON.stringify(beacon));
  }
}
