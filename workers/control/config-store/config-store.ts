import { edgeName } from "../../../shared/names.ts";
import { DurableObject } from "cloudflare:workers";
import type { EdgeReport } from "../../../shared/control-api.ts";
import type { Beacon } from "../../../shared/snapshot/distribution.ts";
import { Topology } from "../../../shared/manifest/topology.ts";
import type { Document } from "../../../shared/resources/parse.ts";
import { edgesOf } from "../../../shared/snapshot/scope.ts";
import type { ControlEnv } from "../env.ts";
import { RolloutController, type RolloutAction } from "../rollout/controller.ts";
import { canaryMetrics } from "../rollout/metrics.ts";
import { Pacer } from "../../../shared/telemetry/pacing.ts";
import { EdgeStatusBoard, type StatusGroup, type StatusReport } from "./edge-status.ts";
import { builtInDefaults } from "./manifest-defaults.ts";
import { migrate } from "./migrations.ts";
import { nudgeEdges } from "./publish.ts";
import { type ApplyOptions, type ApplyResult, VersionedConfig } from "./versions.ts";

export type { ApplyResult };

/**
 * The single authority on mesh config (one object, "config"). It wires three jobs over one SQLite
 * storage and exposes them as RPC: the versioned config and its snapshots (VersionedConfig), what
 * edges report running (EdgeStatusBoard), and the Rollouts its alarm drives (RolloutController).
 */
export class ConfigStore extends DurableObject<ControlEnv> {
  private readonly topology: Topology;
  private readonly config: VersionedConfig;
  private readonly edges: EdgeStatusBoard;
  private readonly rollouts: RolloutController;
  /** Every telemetry collector reports status here: each is given a pace (shared/telemetry/pacing.ts). */
  private readonly collectors: Pacer;

  constructor(ctx: DurableObjectState, env: ControlEnv) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    this.topology = Topology.parse(JSON.parse(env.TOPOLOGY));
    const windowMs = Number(env.STATUS_WINDOW_S ?? 60) * 1000;
    this.edges = new EdgeStatusBoard(sql, windowMs);
    this.collectors = new Pacer(windowMs);
    this.config = new VersionedConfig({
      sql,
      transaction: (fn) => ctx.storage.transactionSync(fn),
      kv: env.SNAPSHOTS,
      topology: this.topology,
      nudge: (edges) => this.edges.track(nudgeEdges(env, this.topology, edges)),
      afterWrite: () => this.rollouts.arm(),
    });
    this.rollouts = new RolloutController({
      config: this.config,
      metrics: (service, canary, since) => canaryMetrics(env, service, canary, since),
      alarm: { set: (at) => ctx.storage.setAlarm(at), clear: () => ctx.storage.deleteAlarm() },
    });
    void ctx.blockConcurrencyWhile(async () => {
      migrate(sql);
      this.config.load();
      await this.config.reconcile();
      // A deployed mesh's first start (and a redeploy with new defaults): the manifest's defaults
      // become the first version, so the first `apply` does not publish snapshots without them.
      const defaults = builtInDefaults();
      if (defaults.length) await this.config.applyDefaults(defaults, "manifest");
    });
  }

  version(): number {
    return this.config.version();
  }

  list(kind?: string, name?: string): Document[] {
    return this.config.list(kind, name);
  }

  history(limit = 100, full = false) {
    return full ? this.config.historyWithDocuments(limit) : this.config.history(limit);
  }

  historyEntry(version: number) {
    return this.config.historyDetail(version) ?? null;
  }

  beacon(): Beacon {
    return this.config.beacon();
  }

  snapshotBody(edge: string, hash?: string): string | null {
    return this.config.snapshotBody(edge, hash);
  }

  topologyOf(): Topology {
    return this.topology;
  }

  analyzeWith(docs: Document[]) {
    return this.config.analyzeWith(docs);
  }

  apply(docs: Document[], opts: ApplyOptions): Promise<ApplyResult> {
    return this.config.apply(docs, opts);
  }

  remove(kind: string, name: string, opts: ApplyOptions): Promise<ApplyResult> {
    return this.config.remove(kind, name, opts);
  }

  rollback(version: number, opts: ApplyOptions): Promise<ApplyResult> {
    return this.config.rollback(version, opts);
  }

  applyDefaults(docs: Document[], by: string): Promise<ApplyResult | null> {
    return this.config.applyDefaults(docs, by);
  }

  rolloutAction(name: string, action: RolloutAction, by: string): Promise<ApplyResult> {
    return this.rollouts.act(name, action, by);
  }

  report(r: EdgeReport): void {
    this.edges.report(r);
  }

  /** A telemetry collector's status groups; answers when it may send the next (ms). */
  collectorStatus(collector: string, groups: StatusGroup[]): { nextInMs: number } {
    this.edges.collectorReport(collector, groups);
    return { nextInMs: this.collectors.heard(collector, Date.now()) };
  }

  status(): StatusReport {
    const inline = new Set(this.topology.services.filter((s) => s.dataPlane === "inline").map((s) => edgeName(s.name)));
    return this.edges.status(this.config.version(), edgesOf(this.topology), this.config.wantedHashes(), inline);
  }

  override alarm(): Promise<void> {
    return this.rollouts.runDue();
  }
}
