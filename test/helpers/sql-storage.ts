import initSqlJs, { type Database, type SqlValue } from "sql.js";

/**
 * A Durable Object's `ctx.storage.sql` and `transactionSync` backed by SQLite compiled to
 * WebAssembly (sql.js), so the control plane's storage modules run in process, in milliseconds,
 * with the very SQL they run in workerd. Only what those modules use is implemented: `exec` with
 * bindings (several statements at once without them), and cursors' `toArray`, `one` and iteration.
 */
export type TestStorage = { sql: SqlStorage; transaction: <T>(fn: () => T) => T; db: Database };

let sqlJs: ReturnType<typeof initSqlJs> | undefined;

export async function testStorage(): Promise<TestStorage> {
  const SQL = await (sqlJs ??= initSqlJs());
  const db = new SQL.Database();
  const exec = (query: string, ...bindings: unknown[]): SqlStorageCursor<Record<string, SqlStorageValue>> => {
    let rows: Record<string, SqlStorageValue>[] = [];
    for (const stmt of db.iterateStatements(query)) {
      rows = [];
      if (bindings.length) stmt.bind(bindings as SqlValue[]);
      while (stmt.step()) rows.push(stmt.getAsObject() as Record<string, SqlStorageValue>);
      stmt.free();
    }
    return cursor(rows);
  };
  const sql = {
    exec,
    get databaseSize() {
      return 0;
    },
  } as unknown as SqlStorage;
  let depth = 0;
  const transaction = <T>(fn: () => T): T => {
    const name = `t${depth++}`;
    db.run(`SAVEPOINT ${name}`);
    try {
      const result = fn();
      db.run(`RELEASE ${name}`);
      return result;
    } catch (e) {
      db.run(`ROLLBACK TO ${name}`);
      db.run(`RELEASE ${name}`);
      throw e;
    } finally {
      depth--;
    }
  };
  return { sql, transaction, db };
}

function cursor<T extends Record<string, SqlStorageValue>>(rows: T[]): SqlStorageCursor<T> {
  const it = rows[Symbol.iterator]();
  return {
    next: () => it.next() as { done?: false; value: T },
    toArray: () => rows,
    one: () => {
      if (rows.length !== 1) throw new Error(`Expected exactly one result from SQL query, but got ${rows.length}.`);
      return rows[0];
    },
    raw: () => rows.map((r) => Object.values(r))[Symbol.iterator](),
    columnNames: rows[0] ? Object.keys(rows[0]) : [],
    rowsRead: rows.length,
    rowsWritten: 0,
    [Symbol.iterator]: () => rows[Symbol.iterator](),
  } as unknown as SqlStorageCursor<T>;
}
