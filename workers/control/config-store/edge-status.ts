import type { EdgeReport } from "../../../shared/control-api.ts";

/**
 * An edge's sync state, the same words in the API, the CLI and the dashboard:
 * `synced` every live isolate runs the edge's current snapshot; `stale` one runs an older one;
 * `rejected` one refused a snapshot (an xDS NACK); `idle` no isolate reported within the window
 * (none is running: the next to start loads the current snapshot).
 */
export type EdgeState = "synced" | "stale" | "rejected" | "idle";
export type EdgeStatus = { edge: string; version: number | null; state: EdgeState; lastSeen: string | null; isolates: number; hash: string; error?: string };
export type StatusReport = { version: number; edges: EdgeStatus[]; converged: number };
export type IsolateRow = { edge: string; isolate: string; version: number; hash: string; state: string; error: string | null; last_seen: number };

/** Isolates' reports are kept this many windows, so an idle edge still says when it was last seen. */
const KEEP_WINDOWS = 10;

/**
 * Each edge's state from its isolates' reports: only reports within the window count as live;
 * `wanted` is the hash of the snapshot each edge should run. `converged` is the share of edges
 * with a live isolate that are synced (1 when none is live).
 */
export function edgeStates(edges: string[], wanted: Map<string, string>, rows: IsolateRow[], since: number): { edges: EdgeStatus[]; converged: number } {
  const statuses = edges.map((edge): EdgeStatus => {
    const seen = rows.filter((r) => r.edge === edge);
    const live = seen.filter((r) => r.last_seen >= since);
    const want = wanted.get(edge) ?? "";
    const rejected = live.find((r) => r.state === "rejected");
    const state: EdgeState = live.length === 0 ? "idle" : rejected ? "rejected" : live.some((r) => r.hash !== want) ? "stale" : "synced";
    const lastSeen = Math.max(0, ...seen.map((r) => r.last_seen));
    return {
      edge,
      version: live.length ? Math.min(...live.map((r) => r.version)) : null,
      state,
      lastSeen: lastSeen ? new Date(lastSeen).toISOString() : null,
      isolates: live.length,
      hash: want,
      ...(rejected?.error ? { error: rejected.error } : {}),
    };
  });
  const live = statuses.filter((e) => e.isolates > 0);
  return { edges: statuses, converged: live.length ? live.filter((e) => e.state === "synced").length / live.length : 1 };
}

/** What edge isolates report running (like `istioctl proxy-status`), kept in the edge_status table. */
export class EdgeStatusBoard {
  constructor(
    private readonly sql: SqlStorage,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  report(r: EdgeReport): void {
    // Reports travel by different paths (a nudge's answer, a telemetry flush) and may arrive out of
    // order: a report of an older snapshot must not make an edge that already confirmed look stale.
    this.sql.exec(
      `INSERT INTO edge_status (edge, isolate, version, hash, state, error, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (edge, isolate) DO UPDATE SET version = excluded.version, hash = excluded.hash, state = excluded.state, error = excluded.error, last_seen = excluded.last_seen
       WHERE excluded.version >= edge_status.version`,
      r.edge, r.isolate, r.version, r.hash, r.state, r.error ?? null, this.now(),
    );
  }

  status(version: number, edges: string[], wanted: Map<string, string>): StatusReport {
    const now = this.now();
    this.sql.exec("DELETE FROM edge_status WHERE last_seen < ?", now - KEEP_WINDOWS * this.windowMs);
    const rows = this.sql.exec<IsolateRow>("SELECT * FROM edge_status").toArray();
    return { version, ...edgeStates(edges, wanted, rows, now - this.windowMs) };
  }
}
