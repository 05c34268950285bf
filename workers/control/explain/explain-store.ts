import { DurableObject } from "cloudflare:workers";
import type { HopRecord } from "../../../shared/explain/hop.ts";
import type { ControlEnv } from "../env.ts";

const MAX_RECORDS = 2000;

/** The last decision records edges sent (requests that carried a valid x-isomesh-debug token). */
export class ExplainStore extends DurableObject<ControlEnv> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: ControlEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql
      .exec(`CREATE TABLE IF NOT EXISTS hops (trace_id TEXT NOT NULL, span_id TEXT NOT NULL, at INTEGER NOT NULL, record TEXT NOT NULL, PRIMARY KEY (trace_id, span_id));
      CREATE INDEX IF NOT EXISTS hops_at ON hops (at);`);
  }

  add(records: HopRecord[]): void {
    // An inline hop's inbound half shares its outbound half's span: kept beside it, joined by explainTree.
    for (const r of records)
      this.sql.exec(
        "INSERT OR REPLACE INTO hops VALUES (?, ?, ?, ?)",
        r.traceId,
        r.half ? `${r.spanId}/${r.half}` : r.spanId,
        r.at,
        JSON.stringify(r),
      );
    const n = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM hops").one().n;
    if (n > MAX_RECORDS)
      this.sql.exec(
        "DELETE FROM hops WHERE at <= (SELECT at FROM hops ORDER BY at DESC LIMIT 1 OFFSET ?)",
        MAX_RECORDS,
      );
  }

  /** The records of one trace, as JSON texts (decisions carry free-form details). */
  get(traceId: string): string[] {
    return this.sql
      .exec<{ record: string }>("SELECT record FROM hops WHERE trace_id = ? ORDER BY at", traceId)
      .toArray()
      .map((r) => r.record);
  }

  recent(limit = 50): { id: string; at: number; hops: number }[] {
    return this.sql
      .exec<{ trace_id: string; at: number; n: number }>(
        "SELECT trace_id, MIN(at) AS at, COUNT(*) AS n FROM hops GROUP BY trace_id ORDER BY at DESC LIMIT ?",
        limit,
      )
      .toArray()
      .map((r) => ({ id: r.trace_id, at: r.at, hops: r.n }));
  }
}
