import { DurableObject } from "cloudflare:workers";
import { analyze } from "../../../shared/analyze/index.ts";
import { type Beacon, type EdgeReport, shardKey, snapshotKey } from "../../../shared/control-api.ts";
import { Topology } from "../../../shared/manifest/topology.ts";
import { edgeBinding } from "../../../shared/names.ts";
import type { ResourceIssue } from "../../../shared/resources/issues.ts";
import { type Document, validateDocuments } from "../../../shared/resources/parse.ts";
import { pruneStoredDocument } from "../../../shared/resources/stored.ts";
import { edgesFedBy, edgesOf } from "../../../shared/snapshot/scope.ts";
import type { StoredResource } from "../../../shared/snapshot/compile.ts";
import type { ControlEnv } from "../env.ts";
import { type Change, diffDocument, summarize } from "./changes.ts";
import { migrate } from "./migrations.ts";
import { buildBeacon, recompile } from "./publish.ts";
import type { RolloutStatus } from "../../../shared/resources/rollout.ts";
import { initialStatus, nextRolloutState } from "../../../shared/rollout/decide.ts";
import { canaryMetrics } from "../rollout/metrics.ts";

type Entry = StoredResource & { doc: Document };
type ResourceOf<K extends string> = Extract<StoredResource["resource"], { kind: K }>;
export type ApplyOptions = { by: string; dryRun?: boolean; ifMatch?: number; note?: string };
export type ApplyResult =
  | { ok: true; version: number; changes: ReturnType<typeof summarize>[]; warnings: ResourceIssue[]; republished: string[]; dryRun: boolean }
  | { ok: false; status: 404 | 409 | 422; errors: ResourceIssue[] };
export type EdgeStatus = { edge: string; version: number | null; state: "synced" | "stale" | "rejected"; lastSeen: string | null; isolates: number; hash: string; error?: string };

const idOf = (kind: string, name: string) => `${kind}/${name}`;

/**
 * The single authority on mesh config: validated, versioned resources in SQLite, their history,
 * and the scoped snapshots compiled from them. Changes are serialized; a change is acknowledged
 * only after its snapshots are in KV and its SQL transaction committed, so nothing is half-applied.
 */
export class ConfigStore extends DurableObject<ControlEnv> {
  private readonly sql: SqlStorage;
  private readonly topology: Topology;
  private entries = new Map<string, Entry>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: ControlEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.topology = Topology.parse(JSON.parse(env.TOPOLOGY));
    void ctx.blockConcurrencyWhile(async () => {
      migrate(this.sql);
      for (const row of this.sql.exec<{ doc: string; created_at: number }>("SELECT doc, created_at FROM resources")) {
        const { doc, pruned } = pruneStoredDocument(JSON.parse(row.doc) as Document);
        const { parsed, errors } = validateDocuments([doc]);
        if (pruned.length) console.warn(`isomesh: ${idOf(doc.kind, doc.metadata.name)}: dropped fields stored before strict validation, which were ignored: ${pruned.join(", ")}`);
        if (parsed[0]) this.entries.set(idOf(doc.kind, doc.metadata.name), { doc, resource: parsed[0].resource, createdAt: row.created_at });
        else console.error(`isomesh: stored ${idOf(doc.kind, doc.metadata.name)} no longer validates and is not served: ${errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`);
      }
      for (const row of this.sql.exec<{ name: string; status: string }>("SELECT name, status FROM rollout_status")) {
        const e = this.entries.get(idOf("Rollout", row.name));
        if (e) e.status = JSON.parse(row.status) as RolloutStatus;
      }
      if (!this.meta("beacon")) await this.publishAll();
    });
  }

  // ---- reads ----

  version(): number {
    return Number(this.meta("version") ?? 0);
  }

  list(kind?: string, name?: string): Document[] {
    return [...this.entries.values()]
      .filter((e) => (!kind || e.doc.kind === kind) && (!name || e.doc.metadata.name === name))
      .sort((a, b) => a.doc.kind.localeCompare(b.doc.kind) || a.doc.metadata.name.localeCompare(b.doc.metadata.name))
      .map((e) => (e.status ? { ...e.doc, status: e.status } : e.doc));
  }

  history(limit = 100): { version: number; at: string; by: string; note?: string; changes: Change[] }[] {
    return [...this.sql.exec<{ version: number; at: number; by: string; changes: string; note: string | null }>("SELECT * FROM history ORDER BY version DESC LIMIT ?", limit)].map((r) => ({
      version: r.version,
      at: new Date(r.at).toISOString(),
      by: r.by,
      note: r.note ?? undefined,
      changes: JSON.parse(r.changes) as Change[],
    }));
  }

  beacon(): Beacon {
    return JSON.parse(this.meta("beacon")!) as Beacon;
  }

  snapshotBody(edge: string, hash?: string): string | null {
    const row = this.sql.exec<{ body: string; hash: string }>("SELECT body, hash FROM snapshots WHERE edge = ?", edge).toArray()[0];
    return row && (!hash || row.hash === hash) ? row.body : null;
  }

  topologyOf(): Topology {
    return this.topology;
  }

  /** The checks `commit` runs, plus mesh-wide ones, on the stored config with `docs` applied. */
  analyzeWith(docs: Document[]): { errors: ResourceIssue[]; warnings: ResourceIssue[] } {
    const next = new Map([...this.entries].map(([id, e]) => [id, e.doc]));
    for (const d of docs) next.set(idOf(d.kind, d.metadata.name), d);
    const { parsed, errors } = validateDocuments([...next.values()]);
    if (errors.length) return { errors, warnings: [] };
    return analyze(this.topology, parsed.map((p) => p.resource), { full: true });
  }

  // ---- changes ----

  /** Creates or updates the given (schema-valid) documents as one atomic change. */
  apply(docs: Document[], opts: ApplyOptions): Promise<ApplyResult> {
    return this.serialized(() => {
      const next = new Map([...this.entries].map(([id, e]) => [id, e.doc]));
      for (const d of docs) next.set(idOf(d.kind, d.metadata.name), d);
      return this.commit(next, opts);
    });
  }

  remove(kind: string, name: string, opts: ApplyOptions): Promise<ApplyResult> {
    return this.serialized(() => {
      const id = idOf(kind, name);
      if (!this.entries.has(id)) return Promise.resolve({ ok: false as const, status: 404 as const, errors: [{ resource: id, path: "", message: "not found" }] });
      const next = new Map([...this.entries].map(([k, e]) => [k, e.doc]));
      next.delete(id);
      return this.commit(next, opts);
    });
  }

  /** Restores the config as it was at `version`, as a new version (history is never rewritten). */
  rollback(version: number, opts: ApplyOptions): Promise<ApplyResult> {
    return this.serialized(() => {
      const current = this.version();
      if (!Number.isInteger(version) || version < 0 || version > current)
        return Promise.resolve({ ok: false as const, status: 404 as const, errors: [{ resource: "version", path: "version", message: `no version ${version} (current is ${current})` }] });
      const state = new Map([...this.entries].map(([k, e]) => [k, e.doc]));
      const newer = this.sql.exec<{ changes: string }>("SELECT changes FROM history WHERE version > ? ORDER BY version DESC", version);
      for (const row of newer)
        for (const c of (JSON.parse(row.changes) as Change[]).reverse()) {
          if (c.op === "status") continue; // a rollout's progress is not config to restore
          const id = idOf(c.kind, c.name);
          if (c.before) state.set(id, pruneStoredDocument(c.before).doc); // history may predate strict validation
          else state.delete(id);
        }
      return this.commit(state, { ...opts, note: opts.note ?? `rollback to version ${version}` });
    });
  }

  /** Applies the first-start defaults only when the store has never been changed. */
  applyDefaults(docs: Document[], by: string): Promise<ApplyResult | null> {
    return this.serialized(async () => (this.version() === 0 && this.entries.size === 0 ? this.commit(new Map(docs.map((d) => [idOf(d.kind, d.metadata.name), d])), { by, note: "defaults" }) : null));
  }

  // ---- edges ----

  report(r: EdgeReport): void {
    // Reports travel by different paths (a nudge's answer, a telemetry flush) and may arrive out of
    // order: a report of an older snapshot must not make an edge that already confirmed look stale.
    this.sql.exec(
      `INSERT INTO edge_status (edge, isolate, version, hash, state, error, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (edge, isolate) DO UPDATE SET version = excluded.version, hash = excluded.hash, state = excluded.state, error = excluded.error, last_seen = excluded.last_seen
       WHERE excluded.version >= edge_status.version`,
      r.edge, r.isolate, r.version, r.hash, r.state, r.error ?? null, Date.now(),
    );
  }

  status(): { version: number; edges: EdgeStatus[]; converged: number } {
    const windowMs = Number(this.env.STATUS_WINDOW_S ?? 60) * 1000;
    const since = Date.now() - windowMs;
    this.sql.exec("DELETE FROM edge_status WHERE last_seen < ?", Date.now() - 10 * windowMs);
    const current = new Map(this.sql.exec<{ edge: string; hash: string; version: number }>("SELECT edge, hash, version FROM snapshots").toArray().map((r) => [r.edge, r]));
    const rows = this.sql.exec<{ edge: string; version: number; hash: string; state: string; error: string | null; last_seen: number }>("SELECT * FROM edge_status WHERE last_seen >= ?", since).toArray();
    const edges = edgesOf(this.topology).map((edge): EdgeStatus => {
      const mine = rows.filter((r) => r.edge === edge);
      const want = current.get(edge)?.hash ?? "";
      const rejected = mine.find((r) => r.state === "rejected");
      const stale = mine.find((r) => r.hash !== want);
      const lastSeen = Math.max(0, ...mine.map((r) => r.last_seen));
      return {
        edge,
        version: mine.length ? Math.min(...mine.map((r) => r.version)) : null,
        state: rejected ? "rejected" : mine.length && !stale ? "synced" : "stale",
        lastSeen: lastSeen ? new Date(lastSeen).toISOString() : null,
        isolates: mine.length,
        hash: want,
        error: rejected?.error ?? undefined,
      };
    });
    const live = edges.filter((e) => e.isolates > 0);
    return { version: this.version(), edges, converged: live.length ? live.filter((e) => e.state === "synced").length / live.length : 1 };
  }

  // ---- internals ----

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private meta(key: string): string | undefined {
    return this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0]?.value;
  }

  private async commit(next: Map<string, Document>, opts: ApplyOptions): Promise<ApplyResult> {
    const version = this.version();
    if (opts.ifMatch !== undefined && opts.ifMatch !== version)
      return { ok: false, status: 409, errors: [{ resource: "version", path: "If-Match", message: `config is at version ${version}, not ${opts.ifMatch}` }] };

    const { parsed, errors: schemaErrors } = validateDocuments([...next.values()]);
    if (schemaErrors.length) return { ok: false, status: 422, errors: schemaErrors };
    const { errors, warnings } = analyze(this.topology, parsed.map((p) => p.resource));
    if (errors.length) return { ok: false, status: 422, errors };

    const changes: Change[] = [];
    for (const id of new Set([...this.entries.keys(), ...next.keys()])) {
      const c = diffDocument(this.entries.get(id)?.doc, next.get(id));
      if (c) changes.push(c);
    }
    if (changes.length === 0 || opts.dryRun) {
      const affected = changes.length ? [...this.affectedEdges(changes, parsed)] : [];
      return { ok: true, version: changes.length ? version + 1 : version, changes: changes.map(summarize), warnings, republished: affected, dryRun: !!opts.dryRun };
    }

    const newVersion = version + 1;
    const now = Date.now();
    const entries = new Map<string, Entry>();
    const changedIds = new Set(changes.map((c) => idOf(c.kind, c.name)));
    for (const p of parsed) {
      const id = idOf(p.doc.kind, p.doc.metadata.name);
      const old = this.entries.get(id);
      // A new or changed Rollout starts over; an untouched one keeps its progress.
      const status = p.resource.kind === "Rollout" ? (changedIds.has(id) || !old?.status ? initialStatus(p.resource.spec, now) : old.status) : undefined;
      entries.set(id, { doc: p.doc, resource: p.resource, createdAt: old?.createdAt ?? now, status });
    }
    const published = await this.publish(entries, this.affectedEdges(changes, parsed), newVersion);

    this.ctx.storage.transactionSync(() => {
      for (const c of changes) {
        const e = entries.get(idOf(c.kind, c.name));
        if (e) this.sql.exec("INSERT OR REPLACE INTO resources (kind, name, doc, created_at, version) VALUES (?, ?, ?, ?, ?)", c.kind, c.name, JSON.stringify(e.doc), e.createdAt, newVersion);
        else this.sql.exec("DELETE FROM resources WHERE kind = ? AND name = ?", c.kind, c.name);
      }
      this.sql.exec("INSERT INTO history (version, at, by, changes, note) VALUES (?, ?, ?, ?, ?)", newVersion, now, opts.by, JSON.stringify(changes), opts.note ?? null);
      this.writeRolloutStatuses(entries);
      published.commit();
      this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('version', ?)", String(newVersion));
    });
    this.entries = entries;
    this.nudge(published.edges);
    await this.armRolloutAlarm();
    return { ok: true, version: newVersion, changes: changes.map(summarize), warnings, republished: published.edges, dryRun: false };
  }

  // ---- rollouts ----

  private writeRolloutStatuses(entries: Map<string, Entry>): void {
    this.sql.exec("DELETE FROM rollout_status");
    for (const e of entries.values()) if (e.status) this.sql.exec("INSERT INTO rollout_status (name, status) VALUES (?, ?)", e.doc.metadata.name, JSON.stringify(e.status));
  }

  private rollouts(): (Entry & { resource: ResourceOf<"Rollout">; status: RolloutStatus })[] {
    return [...this.entries.values()].filter((e): e is Entry & { resource: ResourceOf<"Rollout">; status: RolloutStatus } => e.resource.kind === "Rollout" && !!e.status);
  }

  /** The next analysis due among progressing rollouts; the alarm is re-armed for it. */
  private async armRolloutAlarm(): Promise<void> {
    const due = this.rollouts().filter((r) => r.status.phase === "Progressing").map((r) => r.status.stepStartedAt + r.resource.spec.interval);
    if (due.length) await this.ctx.storage.setAlarm(Math.max(Date.now() + 50, Math.min(...due)));
    else await this.ctx.storage.deleteAlarm();
  }

  /** Runs every due analysis. Idempotent: decisions depend only on stored times and metrics. */
  override async alarm(): Promise<void> {
    try {
      for (const r of this.rollouts()) {
        const spec = r.resource.spec;
        if (r.status.phase !== "Progressing" || Date.now() < r.status.stepStartedAt + spec.interval) continue;
        const metrics = await canaryMetrics(this.env, spec.targetRef.name, spec.canary, r.status.stepStartedAt);
        const next = nextRolloutState(spec, r.status, metrics, Date.now());
        if (next) await this.setRolloutStatus(r.resource.metadata.name, next, `rollout/${r.resource.metadata.name}`);
      }
    } finally {
      await this.armRolloutAlarm();
    }
  }

  /** Operator actions: pause freezes the weights, resume restarts the current step, abort rolls back. */
  async rolloutAction(name: string, action: "pause" | "resume" | "abort", by: string): Promise<ApplyResult> {
    const e = this.rollouts().find((r) => r.resource.metadata.name === name);
    if (!e) return { ok: false, status: 404, errors: [{ resource: `Rollout/${name}`, path: "", message: "not found" }] };
    const now = Date.now();
    const at = new Date(now).toISOString();
    const s = e.status;
    const terminal = s.phase === "Promoted" || s.phase === "RolledBack";
    if (terminal) return { ok: false, status: 409, errors: [{ resource: `Rollout/${name}`, path: "status.phase", message: `rollout already ${s.phase}` }] };
    const next: RolloutStatus =
      action === "pause"
        ? { ...s, phase: "Paused", lastTransition: at, message: `paused by ${by} at ${s.weight}%` }
        : action === "resume"
          ? { ...s, phase: "Progressing", stepStartedAt: now, lastTransition: at, message: `resumed by ${by} at ${s.weight}%` }
          : { ...s, phase: "RolledBack", weight: 0, lastTransition: at, message: `aborted by ${by}` };
    const result = await this.setRolloutStatus(name, next, by);
    await this.armRolloutAlarm();
    return result;
  }

  private setRolloutStatus(name: string, status: RolloutStatus, by: string): Promise<ApplyResult> {
    return this.serialized(async () => {
      const id = idOf("Rollout", name);
      const e = this.entries.get(id);
      if (!e) return { ok: false as const, status: 404 as const, errors: [{ resource: id, path: "", message: "not found" }] };
      const version = this.version() + 1;
      const entries = new Map(this.entries);
      entries.set(id, { ...e, status });
      const published = await this.publish(entries, edgesFedBy(e.resource), version);
      const change: Change = { kind: "Rollout", name, op: "status", fields: ["status"], note: status.message };
      this.ctx.storage.transactionSync(() => {
        this.sql.exec("INSERT INTO history (version, at, by, changes, note) VALUES (?, ?, ?, ?, ?)", version, Date.now(), by, JSON.stringify([change]), `${status.phase} ${status.weight}%: ${status.message}`);
        this.writeRolloutStatuses(entries);
        published.commit();
        this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('version', ?)", String(version));
      });
      this.entries = entries;
      this.nudge(published.edges);
      return { ok: true as const, version, changes: [summarize(change)], warnings: [], republished: published.edges, dryRun: false };
    });
  }

  private affectedEdges(changes: Change[], parsed: { doc: Document; resource: StoredResource["resource"] }[]): Set<string> {
    const edges = new Set<string>();
    const byId = new Map(parsed.map((p) => [idOf(p.doc.kind, p.doc.metadata.name), p.resource]));
    for (const c of changes) {
      const before = this.entries.get(idOf(c.kind, c.name))?.resource;
      const after = byId.get(idOf(c.kind, c.name));
      for (const r of [before, after]) if (r) for (const e of edgesFedBy(r)) edges.add(e);
    }
    return edges;
  }

  /** Compiles the affected edges, writes changed snapshots and shard manifests to KV, and returns the SQL to commit. */
  private async publish(entries: Map<string, Entry>, edges: Iterable<string>, version: number) {
    const resources = [...entries.values()];
    const previous = new Map(this.sql.exec<{ edge: string; hash: string; content_hash: string }>("SELECT edge, hash, content_hash FROM snapshots").toArray().map((r) => [r.edge, r]));
    const changed = await recompile(this.topology, resources, edges, version, (e) => {
      const p = previous.get(e);
      return p && { contentHash: p.content_hash };
    });
    const hashes = new Map([...previous].map(([e, r]) => [e, r.hash]));
    for (const s of changed) hashes.set(s.edge, s.hash);
    const prevBeacon = this.meta("beacon");
    const { beacon, manifests } = await buildBeacon(version, hashes, changed.map((s) => s.edge), prevBeacon ? (JSON.parse(prevBeacon) as Beacon) : undefined);
    // Content-addressed and immutable: written before the commit, harmless if the commit never happens.
    await Promise.all([
      ...changed.map((s) => this.env.SNAPSHOTS.put(snapshotKey(s.edge, s.hash), s.body)),
      ...manifests.map((m) => this.env.SNAPSHOTS.put(shardKey(m.hash), m.body)),
    ]);
    return {
      edges: changed.map((s) => s.edge),
      commit: () => {
        for (const s of changed)
          this.sql.exec("INSERT OR REPLACE INTO snapshots (edge, hash, content_hash, body, version) VALUES (?, ?, ?, ?, ?)", s.edge, s.hash, s.contentHash, s.body, s.version);
        this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('beacon', ?)", JSON.stringify(beacon));
      },
    };
  }

  private async publishAll(): Promise<void> {
    const published = await this.publish(this.entries, edgesOf(this.topology), this.version());
    this.ctx.storage.transactionSync(() => published.commit());
  }

  /** Tells the edges it can reach to re-read the beacon now instead of at their next check. */
  private nudge(edges: string[]): void {
    for (const edge of edges) {
      const binding = this.env[edgeBinding(edge)] as { refresh?: () => Promise<EdgeReport> } | undefined;
      if (typeof binding?.refresh !== "function") continue;
      binding.refresh().then(
        (r) => this.report(r),
        (e: unknown) => console.warn(JSON.stringify({ level: "warn", msg: "edge nudge failed", edge, error: String(e) })),
      );
    }
  }
}
