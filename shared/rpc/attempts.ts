import { MeshError } from "../errors.ts";
import { rpcErrorStatus, RPC_OK } from "./outcome.ts";

// The timeout and retry loop of one Workers RPC call, given how to send one try. No I/O of its
// own: the edge passes a try that calls the picked version's binding, and the inline data plane
// can pass the same from a caller's isolate.

/** What the route and the policy decided for this call's tries. */
export type RpcTryPlan = {
  /** Per-try budget (the route's timeouts.backendRequest); undefined: none. */
  perTryMs?: number;
  /** Absolute time after which nobody waits (the request timeout or the caller's deadline). */
  deadlineAt?: number;
  /** Retries after the first try: 0 unless the route retries and the method is declared idempotent. */
  retries: number;
  /** Statuses a failed try is retried on (the route's retry.codes; 502 and 504 are the binding's and the timer's). */
  retryOn: readonly number[];
  backoffMs: number;
};

/** The loop reports each try's status (outlier detection) and asks before each retry (the retry budget). */
export type RpcTryHooks = {
  onTry(status: number): void;
  allowRetry(): boolean;
  note?(attempt: number, status: number, next: string, error?: string): void;
};

export type RpcTried =
  | { ok: true; value: unknown; attempts: number }
  | { ok: false; error: unknown; status: number; attempts: number; flags: string[] };

const MAX_BACKOFF_FACTOR = 10;

/**
 * Sends tries until one succeeds, the plan allows no more, or no time is left. A try that fails
 * ends as the error the callee threw (status 500), a binding failure (502), or a timeout (504,
 * `upstream_timeout`): the caller sees the last one. Giving up on a try cancels it (see
 * test/workers/rpc-runtime.test.ts: the version's handler never resumes).
 */
export async function tryRpc(
  send: () => Promise<unknown>,
  plan: RpcTryPlan,
  hooks: RpcTryHooks,
  label: string,
): Promise<RpcTried> {
  const flags: string[] = [];
  for (let attempt = 1; ; attempt++) {
    const remaining = plan.deadlineAt === undefined ? Infinity : plan.deadlineAt - Date.now();
    if (remaining <= 0)
      return {
        ok: false,
        error: timeout(label, "request deadline exceeded before the try", flags),
        status: 504,
        attempts: attempt - 1 || 1,
        flags,
      };
    const budgetMs = Math.min(plan.perTryMs ?? Infinity, remaining);
    let value: unknown;
    let error: unknown;
    let status = RPC_OK;
    try {
      value = await withTimeout(send, budgetMs, label);
    } catch (e) {
      error = e;
      status = rpcErrorStatus(e);
    }
    hooks.onTry(status);
    if (status === RPC_OK) {
      hooks.note?.(attempt, status, "done");
      if (attempt > 1) flags.push("retried");
      return { ok: true, value, attempts: attempt };
    }
    let next = attempt > plan.retries || !plan.retryOn.includes(status) ? "done" : "retry";
    if (next === "retry" && !hooks.allowRetry()) next = "budget exhausted";
    const backoffMs =
      next === "retry"
        ? Math.random() * Math.min(plan.backoffMs * 2 ** (attempt - 1), plan.backoffMs * MAX_BACKOFF_FACTOR)
        : 0;
    if (next === "retry" && plan.deadlineAt !== undefined && Date.now() + backoffMs >= plan.deadlineAt)
      next = "no time left";
    hooks.note?.(attempt, status, next, error instanceof Error ? error.message : String(error));
    if (next !== "retry") {
      if (attempt > 1) flags.push("retried");
      if (next === "budget exhausted") flags.push("retry_budget_exhausted");
      if (error instanceof MeshError && error.code === "upstream_timeout") flags.push("timed_out");
      return { ok: false, error, status, attempts: attempt, flags };
    }
    if (backoffMs > 0) await new Promise((r) => setTimeout(r, backoffMs));
  }
}

function timeout(label: string, message: string, flags: string[]): MeshError {
  flags.push("timed_out");
  return new MeshError("upstream_timeout", `${label}: ${message}`, { backend: label });
}

async function withTimeout(send: () => Promise<unknown>, budgetMs: number, label: string): Promise<unknown> {
  if (budgetMs === Infinity) return send();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new MeshError("upstream_timeout", `${label} did not answer within ${Math.round(budgetMs)}ms`, {
            backend: label,
          }),
        ),
      budgetMs,
    );
  });
  try {
    return await Promise.race([send(), expired]);
  } finally {
    clearTimeout(timer);
  }
}
