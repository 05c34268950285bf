/** Versioned schema migrations of the ConfigStore's SQLite storage; append only. */
export const MIGRATIONS: string[] = [
  `CREATE TABLE resources (kind TEXT NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL, created_at INTEGER NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (kind, name));
   CREATE TABLE history (version INTEGER PRIMARY KEY, at INTEGER NOT NULL, by TEXT NOT NULL, changes TEXT NOT NULL, note TEXT);
   CREATE TABLE snapshots (edge TEXT PRIMARY KEY, hash TEXT NOT NULL, content_hash TEXT NOT NULL, body TEXT NOT NULL, version INTEGER NOT NULL);
   CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE edge_status (edge TEXT NOT NULL, isolate TEXT NOT NULL, version INTEGER NOT NULL, hash TEXT NOT NULL, state TEXT NOT NULL, error TEXT, last_seen INTEGER NOT NULL, PRIMARY KEY (edge, isolate));`,
  // Rollout status is the server's, kept apart from the user's spec.
  `CREATE TABLE rollout_status (name TEXT PRIMARY KEY, status TEXT NOT NULL);`,
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
