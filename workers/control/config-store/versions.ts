import { analyze } from "../../../shared/analyze/index.ts";
import type { Beacon } from "../../../shared/snapshot/distribution.ts";
import type { Topology } from "../../../shared/manifest/topology.ts";
import type { ResourceIssue } from "../../../shared/resources/issues.ts";
import { type Document, validateDocuments } from "../../../shared/resources/parse.ts";
import { pruneStoredDocument } from "../../../shared/resources/stored.ts";
import type { Rollout, RolloutStatus } from "../../../shared/resources/rollout.ts";
import { canaryWeight } from "../../../shared/rollout/decide.ts";
import { SNAPSHOT_SCHEMA } from "../../../shared/snapshot/schema.ts";
import { edgesFedBy, edgesOf } from "../../../shared/snapshot/scope.ts";
import { type Change, type ChangeSummary, summarize } from "./changes.ts";
import { ConfigTables } from "./config-tables.ts";
import { historyDetail, historyEntries, historyWithDocuments } from "./history.ts";
import { describeManifestChange } from "./manifest-change.ts";
import { analyzeWith, documentsOf, type Entries, type Entry, idOf, planChange } from "./plan.ts";
import { publish, SnapshotTooLarge } from "./publish.ts";
import { LIMITS } from "../../../shared/resources/limits.ts";

export type ApplyOptions = { by: string; dryRun?: boolean; ifMatch?: number; note?: string };
export type ApplyResult =
  | {
      ok: true;
      version: number;
      changes: ChangeSummary[];
      warnings: ResourceIssue[];
      republished: string[];
      dryRun: boolean;
      rolloutStatus?: RolloutStatus;
    }
  | { ok: false; status: 404 | 409 | 413 | 422; errors: ResourceIssue[] };

export type RolloutEntry = Entry & { resource: Rollout; status: RolloutStatus };
/** What the rollout controller or an operator makes of a Rollout's current status (undefined: nothing). */
export type RolloutDecision =
  { status: RolloutStatus; by: string } | { refused: { status: 409; path: string; message: string } } | undefined;

export type ConfigDeps = {
  sql: SqlStorage;
  /** Runs the writes of one change atomically (`ctx.storage.transactionSync`). */
  transaction: <T>(fn: () => T) => T;
  kv: Pick<KVNamespace, "put">;
  topology: Topology;
  /** Tells edges their snapshot changed (fire and forget). */
  nudge: (edges: string[]) => void;
  now?: () => number;
  /** After every write, a version or a status: the rollout controller re-arms its alarm here. */
  afterWrite?: () => Promise<void>;
};

/**
 * How a commit counts: `version` always makes one; `ifRepublished` (a Rollout's progress, a
 * changed manifest) only when some edge's snapshot changes, and otherwise writes just the status
 * and meta; `initial` publishes a store's first snapshots at its current version.
 */
type Commit = {
  entries: Entries;
  changes: Change[];
  edges: Iterable<string>;
  by: string;
  note?: string;
  meta?: Record<string, string>;
  removedEdges?: string[];
  mode?: "version" | "ifRepublished" | "initial";
  /** A user's change is held to the snapshot size limit; the control plane's own commits are not. */
  maxSnapshotBytes?: number;
};

/**
 * The mesh's config: validated resources, their versions and history, the snapshots compiled from
 * them. Changes are serialized and all go through `commit`: a change is acknowledged only after
 * its snapshots are in KV and its SQL transaction committed, so nothing is half-applied.
 */
export class VersionedConfig {
  readonly tables: ConfigTables;
  private entries: Entries = new Map();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly deps: ConfigDeps) {
    this.tables = new ConfigTables(deps.sql);
    this.now = deps.now ?? Date.now;
  }

  /** Reads the stored resources (after migrations). */
  load(): void {
    const statuses = this.tables.rolloutStatuses();
    for (const row of this.tables.resources()) {
      const { doc, pruned } = pruneStoredDocument(row.doc);
      const id = idOf(doc.kind, doc.metadata.name);
      if (pruned.length)
        console.warn(
          `isomesh: ${id}: dropped fields stored before strict validation, which were ignored: ${pruned.join(", ")}`,
        );
      const { parsed, errors } = validateDocuments([doc]);
      if (!parsed[0]) {
        console.error(
          `isomesh: stored ${id} no longer validates and is not served: ${errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`,
        );
        continue;
      }
      this.entries.set(id, {
        doc,
        resource: parsed[0].resource,
        createdAt: row.createdAt,
        status: doc.kind === "Rollout" ? statuses.get(doc.metadata.name) : undefined,
      });
    }
  }

  // ---- reads ----

  version(): number {
    return this.tables.version();
  }

  list(kind?: string, name?: string): Document[] {
    return [...this.entries.values()]
      .filter((e) => (!kind || e.doc.kind === kind) && (!name || e.doc.metadata.name === name))
      .sort((a, b) => a.doc.kind.localeCompare(b.doc.kind) || a.doc.metadata.name.localeCompare(b.doc.metadata.name))
      .map((e) => (e.status ? { ...e.doc, status: e.status } : e.doc));
  }

  beacon(): Beacon {
    return this.tables.beacon()!;
  }

  snapshotBody(edge: string, hash?: string): string | null {
    const row = this.tables.snapshotBody(edge);
    return row && (!hash || row.hash === hash) ? row.body : null;
  }

  /** The hash of the snapshot each edge should run. */
  wantedHashes(): Map<string, string> {
    return new Map([...this.tables.snapshots()].map(([edge, r]) => [edge, r.hash]));
  }

  history(limit = 100) {
    return historyEntries(this.tables, limit);
  }

  historyWithDocuments(limit = 100) {
    return historyWithDocuments(this.tables, limit);
  }

  historyDetail(version: number) {
    return historyDetail(this.tables, version);
  }

  analyzeWith(docs: Document[]) {
    return analyzeWith(this.deps.topology, this.entries, docs);
  }

  rollouts(): RolloutEntry[] {
    return rolloutsOf(this.entries);
  }

  // ---- changes ----

  /** Creates or updates the given (schema-valid) documents as one atomic change. */
  apply(docs: Document[], opts: ApplyOptions): Promise<ApplyResult> {
    return this.serialized(() => {
      const next = documentsOf(this.entries);
      for (const d of docs) next.set(idOf(d.kind, d.metadata.name), d);
      return this.change(next, opts);
    });
  }

  remove(kind: string, name: string, opts: ApplyOptions): Promise<ApplyResult> {
    return this.serialized(async () => {
      const id = idOf(kind, name);
      if (!this.entries.has(id)) return notFound(id);
      const next = documentsOf(this.entries);
      next.delete(id);
      return this.change(next, opts);
    });
  }

  /** Restores the config as it was at `version`, as a new version (history is never rewritten). */
  rollback(version: number, opts: ApplyOptions): Promise<ApplyResult> {
    return this.serialized(async () => {
      const current = this.version();
      if (!Number.isInteger(version) || version < 0 || version > current)
        return {
          ok: false as const,
          status: 404 as const,
          errors: [{ resource: "version", path: "version", message: `no version ${version} (current is ${current})` }],
        };
      // History may predate strict validation: restore what that release served.
      const docs = this.tables.documentsAt(version).map((d) => pruneStoredDocument(d).doc);
      const next = new Map(docs.map((d) => [idOf(d.kind, d.metadata.name), d]));
      return this.change(next, { ...opts, note: opts.note ?? `rollback to version ${version}` });
    });
  }

  /**
   * Applies the manifest's defaults that are new: never applied before and not stored under the
   * same name. One deleted or changed by a user stays as the user left it. Null: nothing new.
   */
  applyDefaults(docs: Document[], by: string): Promise<ApplyResult | null> {
    return this.serialized(async () => {
      const known = new Set(JSON.parse(this.tables.meta("defaults") ?? "[]") as string[]);
      const fresh = docs.filter(
        (d) => !known.has(idOf(d.kind, d.metadata.name)) && !this.entries.has(idOf(d.kind, d.metadata.name)),
      );
      const record = JSON.stringify([...new Set([...known, ...docs.map((d) => idOf(d.kind, d.metadata.name))])].sort());
      if (fresh.length === 0) {
        if (record !== (this.tables.meta("defaults") ?? "[]"))
          this.deps.transaction(() => this.tables.setMeta("defaults", record));
        return null;
      }
      const next = documentsOf(this.entries);
      for (const d of fresh) next.set(idOf(d.kind, d.metadata.name), d);
      return this.change(next, { by, note: "defaults" }, { defaults: record });
    });
  }

  /**
   * Brings the snapshots in line with the manifest the control plane runs with (on start): a
   * store's first start publishes every edge; a changed manifest (or snapshot schema) recompiles
   * every edge of the new one, drops those it no longer has, and is a version when some edge's
   * snapshot changed.
   * Resources that now refer to what the manifest no longer has are reported (and kept).
   */
  reconcile(by = "manifest"): Promise<{ version: number; republished: string[]; broken: ResourceIssue[] }> {
    return this.serialized(async () => {
      const { topology } = this.deps;
      const shape = JSON.stringify(topology);
      const before = this.tables.meta("topology");
      const schema = String(SNAPSHOT_SCHEMA);
      const initial = !this.tables.beacon();
      const broken = analyze(
        topology,
        [...this.entries.values()].map((e) => e.resource),
      ).errors;
      if (!initial && before === shape && this.tables.meta("snapshot_schema") === schema)
        return { version: this.version(), republished: [], broken };
      for (const b of broken)
        console.warn(
          JSON.stringify({ level: "warn", msg: "resource refers to what the manifest no longer has", ...b }),
        );
      const edges = edgesOf(topology);
      const removedEdges = [...this.tables.snapshots().keys()].filter((e) => !edges.includes(e));
      const result = await this.commit({
        entries: this.entries,
        changes: [],
        edges,
        by,
        note:
          before === shape
            ? `snapshots recompiled for snapshot schema ${schema}`
            : describeManifestChange(before ? (JSON.parse(before) as Topology) : undefined, topology, broken),
        meta: { topology: shape, snapshot_schema: schema },
        removedEdges,
        mode: initial ? "initial" : "ifRepublished",
      });
      return { ...result, broken };
    });
  }

  /**
   * Changes one Rollout's status, serialized with every other change: `decide` sees the status as
   * it is now, so a decision never overwrites one taken meanwhile (an abort never undoes a
   * promotion). Progress is written as status; only a weight change edges must run is a version.
   */
  updateRollout(name: string, decide: (r: RolloutEntry) => RolloutDecision): Promise<ApplyResult> {
    return this.serialized(async () => {
      const id = idOf("Rollout", name);
      const e = this.entries.get(id);
      if (!e || e.resource.kind !== "Rollout" || !e.status) return notFound(id);
      const current = e as RolloutEntry;
      const d = decide(current);
      if (!d)
        return {
          ok: true as const,
          version: this.version(),
          changes: [],
          warnings: [],
          republished: [],
          dryRun: false,
          rolloutStatus: current.status,
        };
      if ("refused" in d)
        return {
          ok: false as const,
          status: d.refused.status,
          errors: [{ resource: id, path: d.refused.path, message: d.refused.message }],
        };
      const entries = new Map(this.entries).set(id, { ...current, status: d.status });
      const change: Change = {
        kind: "Rollout",
        name,
        op: "weights",
        fields: ["status.weight"],
        note: d.status.message,
        status: { before: current.status, after: d.status },
      };
      const known = new Set(edgesOf(this.deps.topology));
      const note = `${d.status.phase} ${canaryWeight(d.status)}%: ${d.status.message}`;
      const result = await this.commit({
        entries,
        changes: [change],
        edges: edgesFedBy(current.resource).filter((x) => known.has(x)),
        by: d.by,
        note,
        mode: "ifRepublished",
      });
      return {
        ok: true as const,
        version: result.version,
        changes: result.versioned ? [summarize(change)] : [],
        warnings: [],
        republished: result.republished,
        dryRun: false,
        rolloutStatus: d.status,
      };
    });
  }

  // ---- internals ----

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Plans turning the stored config into `next`, and commits it unless it is a dry run or changes nothing. */
  private async change(
    next: Map<string, Document>,
    opts: ApplyOptions,
    meta?: Record<string, string>,
  ): Promise<ApplyResult> {
    const version = this.version();
    const plan = planChange({
      topology: this.deps.topology,
      current: this.entries,
      next,
      version,
      ifMatch: opts.ifMatch,
      now: this.now(),
    });
    if (!plan.ok) return plan;
    const changes = plan.changes.map(summarize);
    if (plan.changes.length === 0 || opts.dryRun)
      return {
        ok: true,
        version: changes.length ? version + 1 : version,
        changes,
        warnings: plan.warnings,
        republished: changes.length ? [...plan.edges] : [],
        dryRun: !!opts.dryRun,
      };
    try {
      const result = await this.commit({
        entries: plan.entries,
        changes: plan.changes,
        edges: plan.edges,
        by: opts.by,
        note: opts.note,
        meta,
        maxSnapshotBytes: LIMITS.snapshotBytes,
      });
      return {
        ok: true,
        version: result.version,
        changes,
        warnings: plan.warnings,
        republished: result.republished,
        dryRun: false,
      };
    } catch (e) {
      if (e instanceof SnapshotTooLarge) return { ok: false, status: 413, errors: e.issues };
      throw e;
    }
  }

  /** The one commit path: publish the changed snapshots, then write everything in one transaction. */
  private async commit(c: Commit): Promise<{ version: number; republished: string[]; versioned: boolean }> {
    const mode = c.mode ?? "version";
    const current = this.version();
    const version = mode === "initial" ? current : current + 1;
    const published = await publish({
      kv: this.deps.kv,
      topology: this.deps.topology,
      resources: [...c.entries.values()],
      edges: c.edges,
      version,
      previous: this.tables.snapshots(),
      previousBeacon: this.tables.beacon(),
      removed: c.removedEdges,
      maxSnapshotBytes: c.maxSnapshotBytes,
    });
    const versioned =
      mode === "version" ||
      (mode === "ifRepublished" && (published.edges.length > 0 || published.removedEdges.length > 0));
    const at = this.now();
    this.deps.transaction(() => {
      if (versioned)
        this.tables.writeVersion({ version, at, by: c.by, note: c.note, changes: c.changes, stored: c.entries });
      if (versioned || mode === "initial")
        this.tables.writeSnapshots(published.snapshots, published.beacon, published.removedEdges);
      this.tables.writeRolloutStatuses(new Map(rolloutsOf(c.entries).map((r) => [r.resource.metadata.name, r.status])));
      for (const [key, value] of Object.entries(c.meta ?? {})) this.tables.setMeta(key, value);
    });
    this.entries = c.entries;
    if (versioned) this.deps.nudge(published.edges);
    await this.deps.afterWrite?.();
    return versioned
      ? { version, republished: published.edges, versioned }
      : { version: current, republished: [], versioned };
  }
}

const rolloutsOf = (entries: Entries) =>
  [...entries.values()].filter((e): e is RolloutEntry => e.resource.kind === "Rollout" && !!e.status);

const notFound = (id: string) => ({
  ok: false as const,
  status: 404 as const,
  errors: [{ resource: id, path: "", message: "not found" }],
});
