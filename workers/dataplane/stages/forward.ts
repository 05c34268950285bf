import { MeshError } from "../../../shared/errors.ts";
import { H } from "../../../shared/headers.ts";
import type { RetryBudget } from "../../../shared/resilience/retry-budget.ts";
import { backoffMs, retriesFor, retryable } from "../../../shared/resilience/retry.ts";
import { backendLabel, type CompiledBackend } from "../../../shared/routing/split.ts";
import { bufferBody } from "../body.ts";
import type { Picked } from "../exchange.ts";
import type { Upstream } from "../upstream.ts";

class TryTimeout extends Error {}

/**
 * The last stage: sends the request to the picked backend, with the route's per-try timeout,
 * overall deadline and retry policy (shared/resilience/retry.ts, GEP-1731: retry on the listed
 * codes and on connection errors, exponential backoff with full jitter; only idempotent methods
 * unless the route opts in), within the destination's retry budget. Each try's status goes to
 * outlier detection (`admission.tried`). Reads `backend`, `route`, the deadline.
 */
export const forward =
  (upstream: Upstream, budgetOf: (backend: CompiledBackend) => RetryBudget) =>
  async (x: Picked): Promise<Response> => {
    const { backend } = x;
    const retry = x.route.entry?.retry;
    const perTryMs = x.route.entry?.timeouts.backendRequest || undefined;
    const retriesWanted = retriesFor(retry, x.inbound.method);
    // Small bodies are read in full even without retries: a body the app leaves unread would make
    // workerd drop the client's keep-alive connection (seen as "socket hang up" on the next request).
    const body = await bufferBody(x.inbound);
    const maxAttempts = 1 + (body.replayable ? retriesWanted : 0);
    if (retriesWanted > 0 && !body.replayable && x.record.on)
      x.record.note("retry", "body too large to replay: retries disabled");
    const budget = budgetOf(backend);
    budget.onRequest(Date.now());

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
      // A next hop that timed out on the deadline this hop gave it (the header is whole ms) timed out on
      // this hop's: inline, the callee's outbound half runs in this isolate and may notice first.
      if (
        outcome instanceof Response &&
        outcome.status === 504 &&
        x.deadlineAt !== undefined &&
        x.deadlineAt - Date.now() <= 1 &&
        outcome.headers.get(H.error) === "upstream_timeout"
      ) {
        await outcome.body?.cancel();
        outcome = new TryTimeout("request deadline exceeded");
      }
      const status = outcome instanceof Response ? outcome.status : outcome instanceof TryTimeout ? 504 : 502;
      // A try the caller's cancellation cut short says nothing about the backend's health.
      if (!x.inbound.signal.aborted) x.admission.tried(backend, status);
      const again = retryable(retry, outcome instanceof Response ? outcome.status : undefined);
      const last = attempt >= maxAttempts || x.inbound.signal.aborted; // nobody waits for another try
      let decision = last || !again ? "done" : "retry";
      if (decision === "retry" && !budget.tryRetry(Date.now())) decision = "budget exhausted";
      const wait = decision === "retry" ? backoffMs(retry, attempt, Math.random()) : 0;
      if (decision === "retry" && x.deadlineAt !== undefined && Date.now() + wait >= x.deadlineAt)
        decision = "no time left";
      if (x.record.on)
        x.record.note("attempt", `try ${attempt}: ${status}`, {
          attempt,
          status,
          error: outcome instanceof Error ? outcome.message : undefined,
          tookMs: Date.now() - started,
          deadlineLeftMs: x.deadlineAt === undefined ? null : Math.max(0, x.deadlineAt - Date.now()),
          next: decision,
          backoffMs: decision === "retry" ? wait : undefined,
        });
      if (decision !== "retry") {
        if (attempt > 1) x.flags.add("retried");
        if (decision === "budget exhausted") x.flags.add("retry_budget_exhausted");
        // The deadline, not the policy, ended the retries: the request timed out (504), as Gateway API's
        // retry conformance requires, even though the last try answered.
        if (decision === "no time left") {
          if (outcome instanceof Response) await outcome.body?.cancel();
          throw timeout(x, `the request timeout leaves no time for try ${attempt + 1} (try ${attempt}: ${status})`);
        }
        if (outcome instanceof Response) return outcome;
        if (outcome instanceof TryTimeout) throw timeout(x, outcome.message);
        throw new MeshError("upstream_failure", `backend call failed: ${outcome.message}`, {
          backend: backendLabel(backend),
        });
      }
      if (outcome instanceof Response) await outcome.body?.cancel();
      await sleep(wait);
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

function timeout(x: Picked, message: string): MeshError {
  x.flags.add("timed_out");
  return new MeshError("upstream_timeout", message, {
    backend: backendLabel(x.backend),
    route: x.route.entry?.route,
    rule: x.route.entry?.rule,
  });
}

const sleep = (ms: number) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());
