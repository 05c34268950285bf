import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { Miniflare } from "miniflare";
import { wrangler } from "./wrangler-api.ts";

/** A D1 binding of an app version (`user`, e.g. catalog/v1), its database and migrations folder. */
export type D1Target = {
  worker: string;
  user: string;
  database: string;
  binding: string;
  databaseId: string;
  dir: string;
  table: string;
};
/** What one start applied to one local database, and the versions that bind it. */
export type AppliedMigrations = { database: string; databaseId: string; users: string[]; applied: string[] };

/** A failing migration: the file and D1's error. Nothing after it is applied, and the mesh does not start. */
export class MigrationError extends Error {}

/** wrangler's own order: file names sorted, then by their numeric prefix. */
export function pendingMigrations(dir: string, applied: Set<string>): string[] {
  const num = (f: string) => parseInt(f.split("_")[0]);
  return readdirSync(dir)
    .filter((f) => f.endsWith(".sql") && !applied.has(f))
    .sort()
    .sort((a, b) => (num(a) < num(b) ? -1 : num(a) > num(b) ? 1 : 0));
}

/**
 * Applies each database's pending migrations, once per database, the way `wrangler d1 migrations
 * apply --local` does (same tracking table, same statement splitter, one atomic batch per file), so
 * wrangler's own commands agree with what the mesh applied. wrangler exports no function for it, and
 * running its command per database on every start would cost a process and a second each.
 */
export async function applyD1Migrations(mf: Miniflare, targets: D1Target[]): Promise<AppliedMigrations[]> {
  const done = new Map<string, AppliedMigrations>();
  for (const t of targets) {
    const key = `${t.databaseId}\0${t.dir}\0${t.table}`;
    const earlier = done.get(key);
    if (earlier) earlier.users.push(t.user);
    if (earlier || !existsSync(t.dir)) continue;
    const result: AppliedMigrations = { database: t.database, databaseId: t.databaseId, users: [t.user], applied: [] };
    done.set(key, result);
    const db = await mf.getD1Database(t.binding, t.worker);
    await db
      .prepare(
        `CREATE TABLE IF NOT EXISTS ${t.table}(
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		name       TEXT UNIQUE,
		applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
);`,
      )
      .run();
    const rows = await db.prepare(`SELECT name FROM ${t.table} ORDER BY id`).all<{ name: string }>();
    for (const file of pendingMigrations(t.dir, new Set(rows.results.map((r) => r.name)))) {
      const path = join(t.dir, file);
      const sql = `${readFileSync(path, "utf8")}\nINSERT INTO ${t.table} (name) values ('${file.replaceAll("'", "''")}');`;
      try {
        await db.batch(
          wrangler()
            .unstable_splitSqlQuery(sql)
            .map((q) => db.prepare(q)),
        );
      } catch (e) {
        const cause = ((e as Error).cause as Error | undefined) ?? (e as Error);
        throw new MigrationError(
          `D1 migration ${relative(process.cwd(), path) || path} failed on ${t.database} (${t.user} ${t.binding}): ${cause.message}`,
        );
      }
      result.applied.push(file);
    }
  }
  return [...done.values()];
}
