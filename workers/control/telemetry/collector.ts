import { DurableObject } from "cloudflare:workers";
import type { ReportAnswer } from "../../../shared/control-api.ts";
import { Topology } from "../../../shared/manifest/topology.ts";
import { FLUSH_INTERVAL_MS, Reporters } from "../../../shared/telemetry/pacing.ts";
import type { ControlEnv } from "../env.ts";
import { configStore, explainStore, seriesStore, storeOf, traceStore } from "../objects.ts";
import type { Admitted } from "../report-scope.ts";
import { CollectorBuffer } from "./collector-buffer.ts";

const warn = (msg: string, detail: Record<string, unknown>) =>
  console.warn(JSON.stringify({ level: "warn", msg, ...detail }));

/**
 * One of an edge's telemetry collectors (`COLLECTORS.getByName("collector:<edge>:<n>")`): the
 * isolates whose id hashes to it report here, and it passes on what they report at most once a
 * second, so a destination's Telemetry object hears from a few collectors instead of every isolate
 * of every location (docs/observability.md#at-internet-scale).
 *
 * A batch is taken whole or not at all (the report fails, the isolate keeps it), and each store's
 * share of a forward leaves the collector only once that store accepted it, so a refusal anywhere
 * delays counts and never doubles them. Status and spans go to objects every collector reports to
 * (the ConfigStore, the "traces" object), at the pace each answers with. What a collector holds
 * lives in memory for at most a second (or its pace): lost if the object is torn down meanwhile,
 * as an edge isolate's own buffer is.
 */
export class TelemetryCollector extends DurableObject<ControlEnv> {
  private readonly buffer: CollectorBuffer;
  private readonly reporters = new Reporters();
  private readonly windowMs: number;
  private name = "";
  private lastForwardAt = 0;
  private statusChanged = false;
  /** When status and spans may be sent next (the pace their objects answered with). */
  private statusAt = 0;
  private spansAt = 0;
  private forwarding: Promise<void> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: ControlEnv) {
    super(ctx, env);
    this.windowMs = Number(env.STATUS_WINDOW_S ?? 60) * 1000;
    const services = new Set(Topology.parse(JSON.parse(env.TOPOLOGY)).services.map((s) => s.name));
    this.buffer = new CollectorBuffer((s) => storeOf(s, services));
  }

  /** One isolate's batch, as its binding may send it (`name` is this collector's); answers how often its isolates should flush. */
  async add(name: string, isolate: string, batch: Admitted): Promise<ReportAnswer> {
    this.name = name;
    const now = Date.now();
    this.reporters.heard(isolate, now);
    if (this.buffer.add(batch, now)) this.statusChanged = true;
    // The batch is ours from here: a failure below must not make the isolate send it again.
    try {
      if (now - this.lastForwardAt >= FLUSH_INTERVAL_MS) await this.forward();
      else await this.armAt(this.lastForwardAt + FLUSH_INTERVAL_MS);
    } catch (e) {
      warn("telemetry collector could not forward, kept for the next", { collector: name, error: String(e) });
    }
    return { flushIntervalMs: this.reporters.intervalMs(now) };
  }

  override async alarm(): Promise<void> {
    await this.forward().catch((e: unknown) =>
      warn("telemetry collector could not forward, kept for the next", { collector: this.name, error: String(e) }),
    );
  }

  /** One forward at a time: one asked for meanwhile runs after it, with what arrived since. */
  private forward(): Promise<void> {
    const run = this.forwarding.then(() => this.forwardOnce());
    this.forwarding = run.catch(() => undefined);
    return run;
  }

  private async forwardOnce(): Promise<void> {
    const now = Date.now();
    this.lastForwardAt = now;
    const tasks: Promise<unknown>[] = [];
    for (const [store, windows] of this.buffer.takeSeries())
      tasks.push(
        seriesStore(this.env, store)
          .ingestWindows(windows)
          .catch((e: unknown) => {
            this.buffer.restore(store, windows);
            warn("telemetry forward refused, kept for the next", { collector: this.name, store, error: String(e) });
          }),
      );
    const explains = this.buffer.takeExplains();
    if (explains.length)
      tasks.push(
        explainStore(this.env)
          .add(explains)
          .catch((e: unknown) => warn("decision records dropped", { records: explains.length, error: String(e) })),
      );
    if (now >= this.statusAt) {
      const groups = this.buffer.groups(now - this.windowMs);
      const changed = this.statusChanged;
      this.statusChanged = false;
      if (groups.length || changed)
        tasks.push(
          configStore(this.env)
            .collectorStatus(this.name, groups)
            .then(
              (a) => void (this.statusAt = now + a.nextInMs),
              (e: unknown) => {
                this.statusChanged ||= changed;
                warn("edge status not delivered, kept for the next", { collector: this.name, error: String(e) });
              },
            ),
        );
    }
    if (this.buffer.pendingSpans && now >= this.spansAt) {
      const spans = this.buffer.takeSpans();
      tasks.push(
        traceStore(this.env)
          .addSpansFrom(this.name, spans)
          .then(
            (a) => void (this.spansAt = now + a.nextInMs),
            (e: unknown) => warn("spans dropped", { spans: spans.length, error: String(e) }),
          ),
      );
    }
    await Promise.all(tasks);
    // What is left (a share a store refused, spans or a changed status waiting for their pace) goes later.
    const soonest = now + FLUSH_INTERVAL_MS;
    const next = Math.min(
      this.buffer.pendingSeries ? soonest : Infinity,
      this.buffer.pendingSpans ? Math.max(this.spansAt, soonest) : Infinity,
      this.statusChanged ? Math.max(this.statusAt, soonest) : Infinity,
    );
    if (next < Infinity) await this.armAt(next);
  }

  private async armAt(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }
}
