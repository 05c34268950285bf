import * as z from "zod/mini";
import { RetryBudget as RetryBudgetSpec } from "../resources/retry-budget.ts";
import type { TrafficPolicySpec } from "../resources/traffic-policy.ts";

const WINDOW_MS = 10_000;
const SLOT_MS = 1000;
const SLOTS = WINDOW_MS / SLOT_MS;

/** A TrafficPolicy's retryBudget as edges run it: the resource's own schema. */
export const CompiledRetryBudget = z.object(RetryBudgetSpec.shape);
export type CompiledRetryBudget = z.infer<typeof CompiledRetryBudget>;

/** linkerd's default budget: 20% of requests plus 10 retries per second. */
export const DEFAULT_RETRY_BUDGET: CompiledRetryBudget = { percent: 20, minRetriesPerSecond: 10 };

export const compileRetryBudget = (b: z.output<typeof TrafficPolicySpec>["retryBudget"]): CompiledRetryBudget =>
  b ?? DEFAULT_RETRY_BUDGET;

/** A destination's retry budget as a client edge (the gateway) runs it, with the TrafficPolicy it comes from. */
export const DestinationBudget = z.object({ policy: z.string(), budget: CompiledRetryBudget });
export type DestinationBudget = z.infer<typeof DestinationBudget>;

type Policy = { metadata: { name: string }; spec: z.output<typeof TrafficPolicySpec> };

/**
 * The budgets of the services a client edge routes to, by service: the retryBudget of each
 * service's TrafficPolicy (the oldest, as its own edge picks it; `policies` oldest first), when it
 * sets one. Services the routes never name are left out, so the snapshot holds only what this edge
 * sends to, and a policy change that touches no budget leaves it as it was (not republished).
 */
export function compileDestinationBudgets(
  policies: readonly Policy[],
  routedTo: ReadonlySet<string>,
): Record<string, DestinationBudget> | undefined {
  const out: Record<string, DestinationBudget> = {};
  const seen = new Set<string>();
  for (const p of policies)
    for (const t of p.spec.targetRefs) {
      if (t.kind !== "Service" || seen.has(t.name)) continue;
      seen.add(t.name);
      if (routedTo.has(t.name) && p.spec.retryBudget)
        out[t.name] = { policy: p.metadata.name, budget: compileRetryBudget(p.spec.retryBudget) };
    }
  return Object.keys(out).length ? out : undefined;
}

/**
 * The budget that bounds this edge's retries towards `service`: the destination's own (carried by
 * the gateway's snapshot; a service edge's own policy is its service's), else this edge's
 * policy's, else linkerd's default.
 */
export const budgetFor = (
  snapshot: {
    retryBudgets?: Record<string, DestinationBudget>;
    policy?: { name: string; retryBudget: CompiledRetryBudget };
  },
  service: string,
): { budget: CompiledRetryBudget; policy?: string } =>
  snapshot.retryBudgets?.[service] ??
  (snapshot.policy
    ? { budget: snapshot.policy.retryBudget, policy: snapshot.policy.name }
    : { budget: DEFAULT_RETRY_BUDGET });

/**
 * A retry budget (linkerd's model): over a sliding 10 s window, retries may be at most
 * `percent` of requests plus `minPerSecond` per second, so a dead backend sees about
 * (1 + percent/100) times the offered load instead of (1 + attempts) times.
 */
export class RetryBudget {
  private readonly requests = new Array<number>(SLOTS).fill(0);
  private readonly retries = new Array<number>(SLOTS).fill(0);
  private slot = 0;
  private slotStart = Number.NaN;

  constructor(private readonly config: CompiledRetryBudget) {}

  onRequest(now: number): void {
    this.advance(now);
    this.requests[this.slot]++;
  }

  /** Spends one retry from the budget if it allows one. */
  tryRetry(now: number): boolean {
    this.advance(now);
    const requests = sum(this.requests);
    const retries = sum(this.retries);
    const allowance = (this.config.percent / 100) * requests + (this.config.minRetriesPerSecond * WINDOW_MS) / 1000;
    if (retries >= allowance) return false;
    this.retries[this.slot]++;
    return true;
  }

  private advance(now: number): void {
    if (Number.isNaN(this.slotStart)) this.slotStart = now;
    const steps = Math.min(SLOTS, Math.floor((now - this.slotStart) / SLOT_MS));
    for (let i = 0; i < steps; i++) {
      this.slot = (this.slot + 1) % SLOTS;
      this.requests[this.slot] = 0;
      this.retries[this.slot] = 0;
    }
    if (steps > 0) this.slotStart += steps * SLOT_MS;
  }
}

const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
