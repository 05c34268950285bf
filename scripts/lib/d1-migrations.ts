import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { Miniflare } from "miniflare";
import { wrangler } from "./wrangler-api.ts";

/** One local D1 database with a migrations folder, and a worker that binds it. */
export type D1Target = { worker: string; label: string; binding: string; databaseId: string; dir: string; table: string };
export type AppliedMigrations = { label: string; binding: string; databaseId: string; applied: string[] };

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
  const done = new Set<string>();
  const results: AppliedMigrations[] = [];
  for (const t of targets) {
    const key = `${t.databaseId}\0${t.dir}\0${t.table}`;
    if (done.has(key) || !existsSync(t.dir)) continue;
    done.add(key);
    const db = await mf.getD1Database(t.binding, t.worker);
    await db.prepare(`CREATE TABLE IF NOT EXISTS ${t.table}(
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		name       TEXT UNIQUE,
		applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
);`).run();
    const rows = await db.prepare(`SELECT name FROM ${t.table} ORDER BY id`).all<{ name: string }>();
    const applied: string[] = [];
    for (const file of pendingMigrations(t.dir, new Set(rows.results.map((r) => r.name)))) {
      const path = join(t.dir, file);
      const sql = `${readFileSync(path, "utf8")}\nINSERT INTO ${t.table} (name) values ('${file.replaceAll("'", "''")}');`;
      try {
        await db.batch(wrangler().unstable_splitSqlQuery(sql).map((q) => db.prepare(q)));
      } catch (e) {
        const cause = ((e as Error).cause as Error | undefined) ?? (e as Error);
        throw new MigrationError(`D1 migration ${relative(process.cwd(), path) || path} failed on ${t.label} (${t.binding}): ${cause.message}`);
      }
      applied.push(file);
    }
    results.push({ label: t.label, binding: t.binding, databaseId: t.databaseId, applied });
  }
  return results;
}
