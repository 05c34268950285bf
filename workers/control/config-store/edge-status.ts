import type { EdgeReport } from "../../../shared/control-api.ts";

/**
 * An edge's sync state, the same words in the API, the CLI and the dashboard:
 * `synced` every live isolate runs the edge's current snapshot; `stale` one runs an older one (or,
 * none being live, a nudge is starting one to load it);
 * `rejected` one refused a snapshot (an xDS NACK); `idle` no isolate reported within the window
 * (none is running: the next to start loads the current snapshot). `error` says why one rejected,
 * or what a synced one refused lately (a beacon that failed its signature, a replay, a KV value
 * that failed its hash), which it did not install.
 */
export type EdgeState = "synced" | "stale" | "rejected" | "idle";
export type EdgeStatus = {
  edge: string;
  version: number | null;
  state: EdgeState;
  lastSeen: string | null;
  isolates: number;
  hash: string;
  error?: string;
  /** An inline service (no edge Worker): the live isolates that run its snapshot (`<service>/<version>#id` in its apps and callers, the gateway's id). */
  inline?: string[];
};
export type StatusReport = { version: number; edges: EdgeStatus[]; converged: number };
/**
 * What a telemetry collector reports of the isolates it heard from in the window: one group per
 * (edge, version, hash, state), with its count and the first few isolate ids (an isolate reports
 * to one collector only, so groups of different collectors never count one twice).
 */
export type StatusGroup = {
  edge: string;
  version: number;
  hash: string;
  state: "synced" | "rejected";
  error?: string;
  isolates: number;
  lastSeen: number;
  ids: string[];
};
export type IsolateRow = {
  edge: string;
  isolate: string;
  version: number;
  hash: string;
  state: string;
  error: string | null;
  last_seen: number;
};

/** Isolates' reports are kept this many windows, so an idle edge still says when it was last seen. */
const KEEP_WINDOWS = 10;

/** An edge's isolates as the status sees them: one isolate's row (a nudge's answer) or a collector's group. */
type Entry = Omit<StatusGroup, "edge">;

/**
 * One edge's entries: its isolates' own rows and its collectors' groups. An isolate a nudge
 * answered and a collector also lists is counted once, by its newer report.
 */
function entriesOf(rows: IsolateRow[], groups: StatusGroup[]): Entry[] {
  const byIsolate = new Map(rows.map((r) => [r.isolate, r]));
  const fromGroups = groups.map((g): Entry => {
    let isolates = g.isolates;
    const ids = g.ids.filter((id) => {
      const row = byIsolate.get(id);
      if (!row) return true;
      if (row.version > g.version || (row.version === g.version && row.last_seen >= g.lastSeen)) {
        isolates--;
        return false;
      }
      byIsolate.delete(id);
      return true;
    });
    return { ...g, isolates, ids };
  });
  const fromRows = [...byIsolate.values()].map((r): Entry => ({
    version: r.version,
    hash: r.hash,
    state: r.state as Entry["state"],
    ...(r.error ? { error: r.error } : {}),
    isolates: 1,
    lastSeen: r.last_seen,
    ids: [r.isolate],
  }));
  return [...fromRows, ...fromGroups];
}

/**
 * Each edge's state from its isolates' reports: only reports within the window count as live;
 * `wanted` is the hash of the snapshot each edge should run. An edge with no live isolate that the
 * control plane nudged and that has not answered yet is loading it: `stale`, not `idle` (the
 * nudge starts an isolate). `converged` is the share of the edges not idle that are synced (1 when
 * every edge is idle).
 */
export function edgeStates(
  edges: string[],
  wanted: Map<string, string>,
  rows: IsolateRow[],
  since: number,
  nudged: Set<string> = new Set(),
  inline: Set<string> = new Set(),
  groups: StatusGroup[] = [],
): { edges: EdgeStatus[]; converged: number } {
  const statuses = edges.map((edge): EdgeStatus => {
    const seen = entriesOf(
      rows.filter((r) => r.edge === edge),
      groups.filter((g) => g.edge === edge),
    );
    const live = seen.filter((r) => r.lastSeen >= since && r.isolates > 0);
    const want = wanted.get(edge) ?? "";
    const rejected = live.find((r) => r.state === "rejected");
    const state: EdgeState = rejected
      ? "rejected"
      : live.length === 0
        ? nudged.has(edge)
          ? "stale"
          : "idle"
        : live.some((r) => r.hash !== want)
          ? "stale"
          : "synced";
    const lastSeen = Math.max(0, ...seen.map((r) => r.lastSeen));
    // A synced isolate may still report what it refused (a forged or replayed beacon): shown, not a state.
    const error = rejected?.error ?? live.find((r) => r.error)?.error;
    return {
      edge,
      version: live.length ? Math.min(...live.map((r) => r.version)) : null,
      state,
      lastSeen: lastSeen ? new Date(lastSeen).toISOString() : null,
      isolates: live.reduce((n, r) => n + r.isolates, 0),
      hash: want,
      ...(error ? { error } : {}),
      ...(inline.has(edge) ? { inline: live.flatMap((r) => r.ids).sort() } : {}),
    };
  });
  const counted = statuses.filter((e) => e.state !== "idle");
  return {
    edges: statuses,
    converged: counted.length ? counted.filter((e) => e.state === "synced").length / counted.length : 1,
  };
}

type GroupRow = {
  collector: string;
  edge: string;
  version: number;
  hash: string;
  state: StatusGroup["state"];
  error: string | null;
  isolates: number;
  ids: string;
  last_seen: number;
};

/**
 * What edge isolates report running (like `istioctl proxy-status`): the groups each telemetry
 * collector reports (collector_status), and the isolates that answered a nudge (edge_status).
 */
export class EdgeStatusBoard {
  /** Edges nudged and not answered yet: the nudge each waits on, and when it was sent. */
  private readonly nudged = new Map<string, { answer: Promise<unknown>; at: number }>();

  constructor(
    private readonly sql: SqlStorage,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Follows nudges: an answer is a report; until it comes (or the nudge fails, or a window passes)
   * the edge is loading.
   */
  track(answers: Map<string, Promise<EdgeReport | EdgeReport[]>>): void {
    for (const [edge, answer] of answers) {
      const pending: Promise<unknown> = answer
        .then(
          (r) => (Array.isArray(r) ? r : [r]).forEach((one) => this.report(one)),
          (e: unknown) =>
            console.warn(JSON.stringify({ level: "warn", msg: "edge nudge failed", edge, error: String(e) })),
        )
        .finally(() => {
          if (this.nudged.get(edge)?.answer === pending) this.nudged.delete(edge);
        });
      this.nudged.set(edge, { answer: pending, at: this.now() });
    }
  }

  report(r: EdgeReport): void {
    // Reports travel by different paths (a nudge's answer, a telemetry flush) and may arrive out of
    // order: a report of an older snapshot must not make an edge that already confirmed look stale.
    this.sql.exec(
      `INSERT INTO edge_status (edge, isolate, version, hash, state, error, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (edge, isolate) DO UPDATE SET version = excluded.version, hash = excluded.hash, state = excluded.state, error = excluded.error, last_seen = excluded.last_seen
       WHERE excluded.version >= edge_status.version`,
      r.edge,
      r.isolate,
      r.version,
      r.hash,
      r.state,
      r.error ?? null,
      this.now(),
    );
  }

  /** A collector's groups replace what it reported before. */
  collectorReport(collector: string, groups: StatusGroup[]): void {
    this.sql.exec("DELETE FROM collector_status WHERE collector = ?", collector);
    for (const g of groups)
      this.sql.exec(
        "INSERT OR REPLACE INTO collector_status VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        collector,
        g.edge,
        g.version,
        g.hash,
        g.state,
        g.error ?? null,
        g.isolates,
        JSON.stringify(g.ids),
        g.lastSeen,
      );
  }

  status(version: number, edges: string[], wanted: Map<string, string>, inline?: Set<string>): StatusReport {
    const now = this.now();
    const keepSince = now - KEEP_WINDOWS * this.windowMs;
    this.sql.exec("DELETE FROM edge_status WHERE last_seen < ?", keepSince);
    this.sql.exec("DELETE FROM collector_status WHERE last_seen < ?", keepSince);
    const rows = this.sql.exec<IsolateRow>("SELECT * FROM edge_status").toArray();
    const groups = this.sql
      .exec<GroupRow>("SELECT * FROM collector_status")
      .toArray()
      .map((g): StatusGroup => ({
        edge: g.edge,
        version: g.version,
        hash: g.hash,
        state: g.state,
        ...(g.error ? { error: g.error } : {}),
        isolates: g.isolates,
        lastSeen: g.last_seen,
        ids: JSON.parse(g.ids) as string[],
      }));
    const loading = new Set([...this.nudged].filter(([, n]) => n.at >= now - this.windowMs).map(([edge]) => edge));
    return { version, ...edgeStates(edges, wanted, rows, now - this.windowMs, loading, inline, groups) };
  }
}
