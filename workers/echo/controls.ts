/** How an echo version misbehaves, from its vars (manifest `echo: {status, failRate, delayMs}`). */
export type EchoVars = { ECHO_STATUS?: string; ECHO_FAIL_RATE?: string; ECHO_DELAY_MS?: string };

export type EchoDecision = { status: number; delayMs: number; reason: string };

const MAX_DELAY_MS = 60_000;
const num = (v: string | null | undefined) =>
  v === null || v === undefined || v.trim() === "" ? undefined : Number(v);

/**
 * What the echo answers: request headers win (x-echo-status, x-echo-delay-ms, fail-times),
 * then the version's configured failures. `draw` is a random number in [0, 1).
 */
export function decideEcho(
  headers: Headers,
  vars: EchoVars,
  draw: number,
  failuresLeft: (key: string, times: number) => boolean,
): EchoDecision {
  const delayHeader = num(headers.get("x-echo-delay-ms"));
  const delayVar = num(vars.ECHO_DELAY_MS);
  const delayMs = Math.min(
    MAX_DELAY_MS,
    Math.max(0, (Number.isFinite(delayHeader) ? delayHeader! : 0) + (Number.isFinite(delayVar) ? delayVar! : 0)),
  );

  const failTimes = num(headers.get("x-echo-fail-times"));
  const key = headers.get("x-echo-key");
  if (key && failTimes !== undefined && Number.isInteger(failTimes) && failTimes > 0 && failuresLeft(key, failTimes))
    return { status: 503, delayMs, reason: `x-echo-fail-times ${failTimes} for key ${key}` };

  const statusHeader = num(headers.get("x-echo-status"));
  if (statusHeader !== undefined && Number.isInteger(statusHeader) && statusHeader >= 200 && statusHeader <= 599)
    return { status: statusHeader, delayMs, reason: "x-echo-status" };

  const configured = num(vars.ECHO_STATUS);
  const failRate = num(vars.ECHO_FAIL_RATE);
  if (failRate !== undefined && Number.isFinite(failRate)) {
    if (draw < failRate) return { status: configured ?? 500, delayMs, reason: `failRate ${failRate}` };
    return { status: 200, delayMs, reason: "ok" };
  }
  if (configured !== undefined && Number.isInteger(configured))
    return { status: configured, delayMs, reason: "ECHO_STATUS" };
  return { status: 200, delayMs, reason: "ok" };
}

/** Counts failures per x-echo-key (bounded: the oldest keys are forgotten first). */
export class FailureCounter {
  private readonly seen = new Map<string, number>();
  constructor(private readonly maxKeys = 10_000) {}

  /** True while this key has failed fewer than `times` times (and counts this failure). */
  take(key: string, times: number): boolean {
    const n = this.seen.get(key) ?? 0;
    if (n >= times) return false;
    this.seen.delete(key);
    this.seen.set(key, n + 1);
    if (this.seen.size > this.maxKeys) this.seen.delete(this.seen.keys().next().value!);
    return true;
  }
}
