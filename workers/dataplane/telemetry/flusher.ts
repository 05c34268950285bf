import type { EdgeReport, ReportAnswer, TelemetryBatch } from "../../../shared/control-api.ts";
import type { TelemetryRecorder } from "./recorder.ts";

type Ctx = Pick<ExecutionContext, "waitUntil">;
export type FlushClock = { now(): number; sleep(ms: number): Promise<unknown> };
const realClock: FlushClock = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

/** Past its time plus this, a pending timer is taken for dead (its request was torn down) and replaced. */
const TIMER_GRACE_MS = 2000;
const MAX_BACKOFF_MS = 8000;
/** Refusals in a row before a batch is dropped: covers a control-plane restart (~15 s), not a batch it can never accept. */
const MAX_RETRIES = 4;

/**
 * Gets what an edge isolate recorded to the control plane within about a second, whether or not
 * more requests come.
 *
 * Workers run nothing in the background: work after a response lives in that request's
 * `ctx.waitUntil`, which the runtime ends about 30 s after the response is sent or the caller went
 * away (the same in workerd and in production). So every delivery belongs to a request. Whatever
 * records (a request when it answers, a request in its abort listener when its caller gave up, a
 * mirror's copy when its answer arrives in waitUntil) calls `flush` with its own context: a due
 * batch goes at once; otherwise the first to record in the interval holds a timer in its waitUntil
 * (1 s at most, well inside the 30 s) that sends what every request recorded meanwhile. A timer
 * that did not fire by its time (its request was torn down) is replaced by the next one to record,
 * and a batch the control plane refused is merged back and retried from a timer with backoff (a
 * few times: a batch it never accepts must not poison every later one), so a control-plane restart
 * loses nothing; what an evicted isolate held (at most one interval) is lost.
 */
export class TelemetryFlusher {
  private timerDueAt = 0;
  private failures = 0;

  constructor(
    private readonly recorder: TelemetryRecorder,
    private readonly report: () => EdgeReport | undefined,
    private readonly send: (batch: TelemetryBatch) => Promise<ReportAnswer | void>,
    private readonly clock: FlushClock = realClock,
  ) {}

  /** After something was recorded, with the context of whoever recorded it. */
  flush(ctx: Ctx): void {
    const batch = this.take(false);
    if (batch) ctx.waitUntil(this.deliver(ctx, batch));
    this.schedule(ctx);
  }

  /** Sends everything now and waits for it (a control-plane nudge answers after its report landed). */
  async flushNow(ctx: Ctx): Promise<void> {
    const batch = this.take(true);
    if (batch) await this.deliver(ctx, batch);
  }

  private schedule(ctx: Ctx): void {
    if (!this.recorder.pending) return;
    const now = this.clock.now();
    if (this.timerDueAt && now < this.timerDueAt + TIMER_GRACE_MS) return;
    const wait = Math.max(
      this.recorder.dueIn(now),
      this.failures ? Math.min(1000 * 2 ** (this.failures - 1), MAX_BACKOFF_MS) : 0,
    );
    const dueAt = now + wait;
    this.timerDueAt = dueAt;
    ctx.waitUntil(
      this.clock.sleep(wait).then(() => {
        if (this.timerDueAt === dueAt) this.timerDueAt = 0;
        const batch = this.take(true);
        return batch && this.deliver(ctx, batch);
      }),
    );
  }

  private take(force: boolean): TelemetryBatch | undefined {
    if (!force && !this.recorder.due()) return undefined; // the common case: no report built per request
    const report = this.report();
    return report && this.recorder.take(report, force);
  }

  private async deliver(ctx: Ctx, batch: TelemetryBatch): Promise<void> {
    try {
      const answer = await this.send(batch);
      if (answer) this.recorder.pace(answer.flushIntervalMs);
      this.failures = 0;
    } catch (e) {
      const failures = ++this.failures;
      const retry = failures <= MAX_RETRIES;
      if (retry) this.recorder.restore(batch);
      else this.failures = 0;
      console.warn(
        JSON.stringify({
          level: "warn",
          msg: retry ? "telemetry flush failed, kept for a retry" : "telemetry flush failed again, batch dropped",
          failures,
          error: String(e),
        }),
      );
      this.schedule(ctx);
    }
  }
}
