/** One decision of one stage, in the mesh's own words. */
export type Decision = { stage: string; decision: string; [detail: string]: unknown };

export type { HopRecord } from "./hop.ts";

/**
 * Collects decisions when someone asked for them, and costs one boolean check when nobody did:
 * stages write `if (x.record.on) x.record.note(...)` so no detail object is built otherwise.
 */
export class DecisionLog {
  readonly decisions: Decision[] = [];
  constructor(readonly on: boolean) {}
  note(stage: string, decision: string, detail: Record<string, unknown> = {}): void {
    if (this.on) this.decisions.push({ stage, decision, ...detail });
  }
  /** Records a decision a shared module described (the same words synthetic explain uses). */
  add(d: Decision): void {
    if (this.on) this.decisions.push(d);
  }
}

export const NO_RECORD = new DecisionLog(false);
