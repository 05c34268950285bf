import { MeshError } from "../../../shared/errors.ts";
import { H } from "../../../shared/headers.ts";
import type { RetryBudget } from "../../../shared/resilience/retry-budget.ts";
import { backoffMs, retriesFor, retryable, rpcRetriesFor } from "../../../shared/resilience/retry.ts";
import { backendLabel, type CompiledBackend } from "../../../shared/routing/split.ts";
import { replayable } from "../../../shared/rpc/args.ts";
import { namesMethod } from "../../../shared/rpc/match.ts";
import { notImplemented, RPC_OK, rpcErrorStatus } from "../../../shared/rpc/outcome.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import { bufferBody } from "../body.ts";
import type { CallExchange, Called, FetchExchange, Picked, Stage } from "../exchange.ts";
import type { Upstream } from "../upstream.ts";

/** A try that ran out of its time (the per-try timeout or the request's deadline). */
class TryTimeout extends Error {}

/** How one try ended: an answer (a Response, or what an RPC method returned), or an error with the status it stands for. */
type Tried<A> = { answer: A; status: number } | { error: Error; status: number; answered: boolean };

/** How the loop sends a try of one shape of request, and what it makes of the end. */
type Tries<X, A> = {
  /** Retries the route allows this request (its method idempotent; its body or arguments replayable). */
  retries: number;
  send(signal: AbortSignal | undefined): Promise<A>;
  status(answer: A): number;
  /** Whether a try that threw had an answer from the backend (an RPC method's own exception) or none at all. */
  answered(error: Error): boolean;
  /** An answer not to return after all (a retry follows): its body released. */
  discard(answer: A): Promise<void>;
  /** The error the caller gets when the last try threw. */
  failure(x: X, error: Error, status: number): Error;
};

/**
 * The last stage: sends the request to the picked backend, with the route's per-try timeout, the
 * request's deadline and retry policy (shared/resilience/retry.ts, GEP-1731: retry on the listed
 * codes and on tries that got no answer at all, exponential backoff with full jitter; only
 * idempotent methods unless the route opts in, and for Workers RPC only methods the policy
 * declares idempotent), within the destination's retry budget. A fetch and an RPC call run the
 * same loop; they differ only in how a try is sent and read. Each try's status goes to outlier
 * detection (`admission.tried`). One timer per try that has a time limit (every request has one:
 * the route's timeout or the mesh default), no combined signal: the caller's giving up reaches the
 * try through `cancelTry`, which the telemetry stage's listener calls.
 */
export const forward = <T extends Picked, R>(
  snapshot: Snapshot,
  upstream: Upstream,
  budgetOf: (backend: CompiledBackend) => RetryBudget,
): Stage<T, T, R> => {
  const idempotentMethods = snapshot.policy?.idempotentMethods;
  // What a try answers is what the pipeline answers: a Response for a fetch, a Called for an RPC call.
  return async (picked) => {
    const x = picked as Picked;
    return (
      x.kind === "rpc"
        ? await loop(x, rpcTries(x, upstream, idempotentMethods), budgetOf(x.backend))
        : await loop(x, await fetchTries(x, upstream), budgetOf(x.backend))
    ) as R;
  };
};

async function fetchTries(
  x: Picked<FetchExchange>,
  upstream: Upstream,
): Promise<Tries<Picked<FetchExchange>, Response>> {
  const retry = x.route.entry?.retry;
  const wanted = retriesFor(retry, x.method);
  // Small bodies are read in full even without retries: a body the app leaves unread would make
  // workerd drop the client's keep-alive connection (seen as "socket hang up" on the next request).
  const body = await bufferBody(x.inbound);
  if (wanted > 0 && !body.replayable && x.record.on)
    x.record.note("retry", "body too large to replay: retries disabled");
  return {
    retries: body.replayable ? wanted : 0,
    send: (signal) => upstream.fetch(x, x.backend, body, signal),
    status: (r) => r.status,
    answered: () => false,
    discard: async (r) => void (await r.body?.cancel()),
    failure: (x, e) =>
      e instanceof TryTimeout
        ? timeout(x, e.message)
        : new MeshError("upstream_failure", `backend call failed: ${e.message}`, { backend: backendLabel(x.backend) }),
  };
}

function rpcTries(
  x: Picked<CallExchange>,
  upstream: Upstream,
  idempotentMethods: readonly string[] | undefined,
): Tries<Picked<CallExchange>, Called> {
  const idempotent = namesMethod(idempotentMethods, x.call) && replayable(x.args);
  const label = backendLabel(x.backend);
  return {
    retries: rpcRetriesFor(x.route.entry?.retry, idempotent),
    send: () => upstream.call(x, x.backend).then((value) => ({ value })),
    status: () => RPC_OK,
    // An exception the method threw crossed the binding (`remote`): the backend answered.
    answered: (e) => (e as { remote?: unknown }).remote === true || e instanceof MeshError,
    discard: async () => {},
    failure: (x, e, status) => {
      if (e instanceof TryTimeout) return timeout(x, `${label}: ${e.message}`);
      if (notImplemented(e) === x.call.method)
        return new MeshError("no_method", `${label} does not implement the RPC method "${x.call.fullName}"`, {
          backend: label,
        });
      if (e instanceof MeshError) {
        if (e.code === "rbac_denied") x.flags.add("denied");
        if (e.code === "rate_limited") x.flags.add("rate_limited");
        return e;
      }
      return status === 502 ? new MeshError("upstream_failure", `${label}: ${e.message}`, { backend: label }) : e;
    },
  };
}

async function loop<X extends Picked, A>(x: X, tries: Tries<X, A>, budget: RetryBudget): Promise<A> {
  const { backend } = x;
  const retry = x.route.entry?.retry;
  const perTryMs = x.route.entry?.timeouts.backendRequest || undefined;
  const maxAttempts = 1 + tries.retries;
  budget.onRequest(Date.now());
  for (let attempt = 1; ; attempt++) {
    x.attempts = attempt;
    const remaining = x.deadlineAt === undefined ? Infinity : x.deadlineAt - Date.now();
    if (remaining <= 0) throw timeout(x, "request deadline exceeded before the try");
    const started = Date.now();
    const tried = await once(x, tries, Math.min(perTryMs ?? Infinity, remaining));
    const gone = x.callerGone; // a try the caller's cancellation cut short says nothing about the backend's health
    if (!gone) x.admission.tried(backend, tried.status);
    const answer = "answer" in tried;
    const again = answer || tried.answered ? !!retry?.codes.includes(tried.status) : retryable(retry, undefined);
    let decision = attempt >= maxAttempts || gone || !again ? "done" : "retry";
    if (decision === "retry" && !budget.tryRetry(Date.now())) decision = "budget exhausted";
    const wait = decision === "retry" ? backoffMs(retry, attempt, Math.random()) : 0;
    if (decision === "retry" && x.deadlineAt !== undefined && Date.now() + wait >= x.deadlineAt)
      decision = "no time left";
    if (x.record.on)
      x.record.note("attempt", `try ${attempt}: ${tried.status}`, {
        attempt,
        status: tried.status,
        error: "error" in tried ? tried.error.message : undefined,
        tookMs: Date.now() - started,
        deadlineLeftMs: x.deadlineAt === undefined ? null : Math.max(0, x.deadlineAt - Date.now()),
        next: decision,
        backoffMs: decision === "retry" ? wait : undefined,
      });
    if (decision === "retry") {
      if ("answer" in tried) await tries.discard(tried.answer);
      await sleep(wait);
      continue;
    }
    if (attempt > 1) x.flags.add("retried");
    if (decision === "budget exhausted") x.flags.add("retry_budget_exhausted");
    // The deadline, not the policy, ended the retries: the request timed out (504), as Gateway API's
    // retry conformance requires, even though the last try answered.
    if (decision === "no time left") {
      if ("answer" in tried) await tries.discard(tried.answer);
      throw timeout(x, `the request timeout leaves no time for try ${attempt + 1} (try ${attempt}: ${tried.status})`);
    }
    if ("answer" in tried) return tried.answer;
    throw tries.failure(x, tried.error, tried.status);
  }
}

/**
 * One try within `budgetMs`: a timer aborts it when the budget runs out, and `cancelTry` (the
 * caller gave up) aborts it at once. Without a time limit the try needs no controller: the
 * runtime ends it with the request.
 */
async function once<X extends Picked, A>(x: X, tries: Tries<X, A>, budgetMs: number): Promise<Tried<A>> {
  const limited = budgetMs !== Infinity;
  const controller = limited || x.kind === "fetch" ? new AbortController() : undefined;
  let expire: ((e: TryTimeout) => void) | undefined;
  // The try ends when its time is up whether or not the backend heeds the abort (an RPC call takes
  // no signal at all: dropping it cancels it in workerd).
  const expired = limited ? new Promise<never>((_, reject) => (expire = reject)) : undefined;
  const timer = limited
    ? setTimeout(() => {
        const e = new TryTimeout(`backend did not answer within ${Math.round(budgetMs)}ms`);
        controller!.abort(e);
        expire!(e);
      }, budgetMs)
    : undefined;
  if (controller) x.cancelTry = () => controller.abort(new Error("the caller gave up"));
  try {
    const sent = tries.send(controller?.signal);
    const answer = expired ? await Promise.race([sent, expired]) : await sent;
    const status = tries.status(answer);
    // A next hop that timed out on the deadline this hop gave it (the header is whole ms) timed out on
    // this hop's: inline, the callee's outbound half runs in this isolate and may notice first.
    if (answer instanceof Response && status === 504 && nextHopMissedOurDeadline(x, answer)) {
      await answer.body?.cancel();
      return { error: new TryTimeout("request deadline exceeded"), status: 504, answered: false };
    }
    return { answer, status };
  } catch (e) {
    const reason = controller?.signal.reason;
    const error = reason instanceof TryTimeout ? reason : e instanceof Error ? e : new Error(String(e));
    if (error instanceof TryTimeout) return { error, status: 504, answered: false };
    const status = x.kind === "rpc" ? rpcErrorStatus(error) : 502;
    return { error, status, answered: tries.answered(error) };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    x.cancelTry = undefined;
  }
}

const nextHopMissedOurDeadline = (x: Picked, r: Response) =>
  x.deadlineAt !== undefined && x.deadlineAt - Date.now() <= 1 && r.headers.get(H.error) === "upstream_timeout";

function timeout(x: Picked, message: string): MeshError {
  x.flags.add("timed_out");
  return new MeshError("upstream_timeout", message, {
    backend: backendLabel(x.backend),
    route: x.route.entry?.route,
    rule: x.route.entry?.rule,
  });
}

const sleep = (ms: number) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());
