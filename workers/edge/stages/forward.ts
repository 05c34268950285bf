import { MeshError } from "../../../shared/errors.ts";
import { bufferBody } from "../body.ts";
import type { Exchange, Stage } from "../exchange.ts";
import type { Upstream } from "../upstream.ts";

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);
const MAX_BACKOFF_FACTOR = 10; // Envoy caps the backoff interval at 10x the base

/**
 * What the loop reports and asks: the retry budget answers `allowRetry` so a dead backend sees
 * bounded load; outlier detection learns every try's status from `onTry`.
 */
export type ForwardHooks = {
  onRequest(x: Exchange): void;
  allowRetry(x: Exchange): boolean;
  onTry(x: Exchange, status: number): void;
};
export const NO_HOOKS: ForwardHooks = { onRequest: () => {}, allowRetry: () => true, onTry: () => {} };

class TryTimeout extends Error {}

/**
 * The last stage: sends the request to the picked backend, with the route's per-try timeout,
 * overall deadline and retry policy (GEP-1731: retry on the listed codes and on connection errors,
 * exponential backoff with full jitter; only idempotent methods unless the route opts in).
 */
export const forward =
  (upstream: Upstream, hooks: ForwardHooks = NO_HOOKS): Stage =>
  async (x) => {
    const backend = x.backend;
    if (!backend) throw new MeshError("no_backend", "no backend was picked");
    const retry = x.route?.retry;
    const perTryMs = x.route?.timeouts.backendRequestMs || undefined;
    const retriesWanted = retry && (IDEMPOTENT.has(x.inbound.method) || retry.unsafeMethods) ? retry.attempts : 0;
    // Small bodies are read in full even without retries: a body the app leaves unread would make
    // workerd drop the client's keep-alive connection (seen as "socket hang up" on the next request).
    const body = await bufferBody(x.inbound);
    const maxAttempts = 1 + (body.replayable ? retriesWanted : 0);
    if (retriesWanted > 0 && !body.replayable && x.record.on)
      x.record.note("retry", "body too large to replay: retries disabled");
    hooks.onRequest(x);

    for (let attempt = 1; ; attempt++) {
      x.attempts = attempt;
      const remaining = x.deadlineAt === undefined ? Infinity : x.deadlineAt - Date.now();
      if (remaining <= 0) throw timeout(x, "request deadline exceeded before the try");
      const budgetMs = Math.min(perTryMs ?? Infinity, remaining);
      const started = Date.now();
      let outcome: Response | Error;
      // An AbortController only when a timer may have to cancel the try. A caller that gives up
      // cancels the try too (Envoy resets the upstream on DC): this handler can outlive its caller.
      const abort = budgetMs === Infinity ? undefined : new AbortController();
      const signal = abort ? AbortSignal.any([abort.signal, x.inbound.signal]) : x.inbound.signal;
      try {
        outcome = await tryOnce(() => upstream(x, backend, body.take(), signal), budgetMs, abort);
      } catch (e) {
        outcome = e instanceof Error ? e : new Error(String(e));
      }
      const status = outcome instanceof Response ? outcome.status : outcome instanceof TryTimeout ? 504 : 502;
      // A try the caller's cancellation cut short says nothing about the backend's health.
      if (!x.inbound.signal.aborted) hooks.onTry(x, status);
      const retryable = outcome instanceof Response ? !!retry?.codes.includes(outcome.status) : true;
      const last = attempt >= maxAttempts || x.inbound.signal.aborted; // nobody waits for another try
      let decision = last || !retryable ? "done" : "retry";
      if (decision === "retry" && !hooks.allowRetry(x)) decision = "budget exhausted";
      const backoffMs = decision === "retry" ? backoff(retry?.backoffMs ?? 25, attempt) : 0;
      if (decision === "retry" && x.deadlineAt !== undefined && Date.now() + backoffMs >= x.deadlineAt)
        decision = "no time left";
      if (x.record.on)
        x.record.note("attempt", `try ${attempt}: ${status}`, {
          attempt,
          status,
          error: outcome instanceof Error ? outcome.message : undefined,
          tookMs: Date.now() - started,
          deadlineLeftMs: x.deadlineAt === undefined ? null : Math.max(0, x.deadlineAt - Date.now()),
          next: decision,
          backoffMs: decision === "retry" ? backoffMs : undefined,
        });
      if (decision !== "retry") {
        if (attempt > 1) x.flags.add("retried");
        if (decision === "budget exhausted") x.flags.add("retry_budget_exhausted");
        if (outcome instanceof Response) return outcome;
        if (outcome instanceof TryTimeout) throw timeout(x, outcome.message);
        throw new MeshError("upstream_failure", `backend call failed: ${outcome.message}`, { backend: label(x) });
      }
      if (outcome instanceof Response) await outcome.body?.cancel();
      await sleep(backoffMs);
    }
  };

async function tryOnce(
  send: () => Promise<Response>,
  budgetMs: number,
  ac: AbortController | undefined,
): Promise<Response> {
  if (budgetMs === Infinity || !ac) return send();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ac.abort();
      reject(new TryTimeout(`backend did not answer within ${Math.round(budgetMs)}ms`));
    }, budgetMs);
  });
  try {
    return await Promise.race([send(), expired]);
  } finally {
    clearTimeout(timer);
  }
}

const label = (x: Exchange) => (x.backend?.version ? `${x.backend.service}/${x.backend.version}` : x.backend?.service);

function timeout(x: Exchange, message: string): MeshError {
  x.flags.add("timed_out");
  return new MeshError("upstream_timeout", message, { backend: label(x), route: x.route?.route, rule: x.route?.rule });
}

/** Exponential backoff with full jitter, capped at 10x the base. */
const backoff = (baseMs: number, attempt: number) =>
  Math.random() * Math.min(baseMs * 2 ** (attempt - 1), baseMs * MAX_BACKOFF_FACTOR);

const sleep = (ms: number) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());
