import type { RolloutStatus } from "../../../shared/resources/rollout.ts";
import { analysisDueAt, type CanaryMetrics, nextRolloutState } from "../../../shared/rollout/decide.ts";
import type { ApplyResult, RolloutDecision, RolloutEntry, VersionedConfig } from "../config-store/versions.ts";

export type RolloutAction = "pause" | "resume" | "abort";

export type RolloutControllerDeps = {
  config: Pick<VersionedConfig, "rollouts" | "updateRollout">;
  /** The canary's signals since a step started (the service's Telemetry object). */
  metrics: (service: string, canary: string, sinceMs: number) => Promise<CanaryMetrics>;
  /** The Durable Object's alarm. */
  alarm: { set(at: number): Promise<void>; clear(): Promise<void> };
  now?: () => number;
};

/** The alarm never fires sooner than this after it is armed (a due analysis runs at once, not in a loop). */
const MIN_ALARM_DELAY_MS = 50;
/** After an analysis failed (e.g. its metrics could not be read), the next try waits this long. */
const RETRY_DELAY_MS = 1000;

const terminal = (s: RolloutStatus) => s.phase === "Promoted" || s.phase === "RolledBack";

/** Operator actions: pause freezes the weights, resume restarts the current step, abort rolls back. */
function operatorDecision(s: RolloutStatus, action: RolloutAction, by: string, now: number): RolloutDecision {
  if (terminal(s)) return { refused: { status: 409, path: "status.phase", message: `rollout already ${s.phase}` } };
  const lastTransition = new Date(now).toISOString();
  const { inconclusive: _, ...fresh } = s; // a resumed step starts a new sample
  const status: RolloutStatus =
    action === "pause"
      ? { ...s, phase: "Paused", lastTransition, message: `paused by ${by} at ${s.weight}%` }
      : action === "resume"
        ? {
            ...fresh,
            phase: "Progressing",
            stepStartedAt: now,
            lastTransition,
            message: `resumed by ${by} at ${s.weight}%`,
          }
        : { ...s, phase: "RolledBack", weight: 0, lastTransition, message: `aborted by ${by}` };
  return { status, by };
}

/** When the next analysis is due among progressing rollouts (undefined: none is). */
function nextAnalysisAt(rollouts: RolloutEntry[]): number | undefined {
  const due = rollouts
    .filter((r) => r.status.phase === "Progressing")
    .map((r) => analysisDueAt(r.resource.spec, r.status));
  return due.length ? Math.min(...due) : undefined;
}

const sameStep = (a: RolloutStatus, b: RolloutStatus) =>
  a.phase === b.phase &&
  a.step === b.step &&
  a.weight === b.weight &&
  a.stepStartedAt === b.stepStartedAt &&
  a.inconclusive === b.inconclusive;

/**
 * Drives Rollouts like Flagger: at the end of each step's interval, reads the canary's metrics
 * since the step began and takes the next step, waits, promotes or rolls back
 * (shared/rollout/decide.ts decides). Runs from
 * the ConfigStore's alarm; every status change goes through the config's serialized update.
 */
export class RolloutController {
  private readonly now: () => number;

  constructor(private readonly deps: RolloutControllerDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Runs every due analysis, then re-arms the alarm. Idempotent: a repeated run finds nothing due. */
  async runDue(): Promise<void> {
    let failed = false;
    try {
      for (const r of this.deps.config.rollouts()) {
        const analyzed = r.status;
        const spec = r.resource.spec;
        if (analyzed.phase !== "Progressing" || this.now() < analysisDueAt(spec, analyzed)) continue;
        const name = r.resource.metadata.name;
        try {
          const metrics = await this.deps.metrics(spec.targetRef.name, spec.canary, analyzed.stepStartedAt);
          await this.deps.config.updateRollout(name, (current) => {
            // Metrics were read for the step as it was: moot if it moved on meanwhile (an operator, a new spec).
            if (!sameStep(current.status, analyzed)) return undefined;
            const next = nextRolloutState(current.resource.spec, current.status, metrics, this.now());
            return next && { status: next, by: `rollout/${name}` };
          });
        } catch (e) {
          failed = true;
          console.error(
            JSON.stringify({ level: "error", msg: "rollout analysis failed", rollout: name, error: String(e) }),
          );
        }
      }
    } finally {
      await this.arm(failed ? RETRY_DELAY_MS : MIN_ALARM_DELAY_MS);
    }
  }

  act(name: string, action: RolloutAction, by: string): Promise<ApplyResult> {
    return this.deps.config.updateRollout(name, (r) => operatorDecision(r.status, action, by, this.now()));
  }

  /** Arms the alarm for the next due analysis, or clears it when no rollout is progressing. */
  async arm(minDelayMs = MIN_ALARM_DELAY_MS): Promise<void> {
    const due = nextAnalysisAt(this.deps.config.rollouts());
    if (due === undefined) await this.deps.alarm.clear();
    else await this.deps.alarm.set(Math.max(this.now() + minDelayMs, due));
  }
}
