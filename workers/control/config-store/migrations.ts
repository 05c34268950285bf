/** Versioned schema migrations of the ConfigStore's SQLite storage; append only. */
export const MIGRATIONS: string[] = [
  `CREATE TABLE resources (kind TEXT NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL, created_at INTEGER NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (kind, name));
   CREATE TABLE history (version INTEGER PRIMARY KEY, at INTEGER NOT NULL, by TEXT NOT NULL, changes TEXT NOT NULL, note TEXT);
   CREATE TABLE snapshots (edge TEXT PRIMARY KEY, hash TEXT NOT NULL, content_hash TEXT NOT NULL, body TEXT NOT NULL, version INTEGER NOT NULL);
   CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE edge_status (edge TEXT NOT NULL, isolate TEXT NOT NULL, version INTEGER NOT NULL, hash TEXT NOT NULL, state TEXT NOT NULL, error TEXT, last_seen INTEGER NOT NULL, PRIMARY KEY (edge, isolate));`,
  // Rollout status is the server's, kept apart from the user's spec.
  `CREATE TABLE rollout_status (name TEXT PRIMARY KEY, status TEXT NOT NULL);`,
  // One row per changed resource of a version, holding the document after the change, instead of
  // every before/after document of a version in one JSON text: a row stays the size of one
  // resource (SQLite rows are limited to 2 MB in a Durable Object), and `before` is the previous
  // row of the same resource. The manifest's defaults applied so far are remembered by name.
  `CREATE TABLE history_changes (version INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, op TEXT NOT NULL,
     fields TEXT, note TEXT, doc TEXT, status TEXT, PRIMARY KEY (version, seq));
   CREATE INDEX history_changes_resource ON history_changes (kind, name, version);
   INSERT INTO history_changes (version, seq, kind, name, op, fields, note, doc)
     SELECT h.version, c.key, json_extract(c.value, '$.kind'), json_extract(c.value, '$.name'), json_extract(c.value, '$.op'),
            json_extract(c.value, '$.fields'), json_extract(c.value, '$.note'), json_extract(c.value, '$.after')
     FROM history h, json_each(h.changes) c;
   ALTER TABLE history DROP COLUMN changes;
   INSERT INTO meta (key, value)
     SELECT 'defaults', json_group_array(c.kind || '/' || c.name) FROM history h JOIN history_changes c ON c.version = h.version WHERE h.note = 'defaults';`,
  // Edges' status as telemetry collectors report it: groups of isolates, replaced per collector.
  `CREATE TABLE collector_status (collector TEXT NOT NULL, edge TEXT NOT NULL, version INTEGER NOT NULL, hash TEXT NOT NULL,
     state TEXT NOT NULL, error TEXT, isolates INTEGER NOT NULL, ids TEXT NOT NULL, last_seen INTEGER NOT NULL,
     PRIMARY KEY (collector, edge, version, hash, state));`,
];

/** Applies the migrations not yet applied, each in order, recording how far it got. */
export function migrate(sql: SqlStorage): void {
  sql.exec("CREATE TABLE IF NOT EXISTS _migrations (id INTEGER PRIMARY KEY, at INTEGER NOT NULL)");
  const done = sql.exec<{ n: number | null }>("SELECT MAX(id) AS n FROM _migrations").one().n ?? -1;
  for (let id = done + 1; id < MIGRATIONS.length; id++) {
    sql.exec(MIGRATIONS[id]);
    sql.exec("INSERT INTO _migrations (id, at) VALUES (?, ?)", id, Date.now());
  }
}
