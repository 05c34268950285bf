import { H } from "../../../shared/headers.ts";
import { rpcErrorStatus } from "../../../shared/rpc/outcome.ts";
import { CANCELLED_STATUS } from "../../../shared/telemetry/outcome.ts";
import type { Exchange, Stage } from "../exchange.ts";
import type { TelemetrySink } from "../telemetry/sink.ts";

/**
 * Records every request this hop received, once: when it answers, or when its caller gives up
 * first (code 0, `caller_cancelled`, with the time until then). An RPC call is recorded when it
 * returns (200) or throws (the status its error stands for: shared/rpc/outcome.ts).
 *
 * How workerd tells a callee its caller is gone (measured in workerd 2026-04-26; production runs
 * the same runtime, see test/workers/cancellation-runtime.test.ts): when the caller aborts its
 * service-binding fetch, or its own request ends without awaiting ours, this request is cancelled.
 * With no waitUntil pending, nothing after the `await` it is parked on ever runs (no catch, no
 * finally), so recording after `next()` misses it. With a waitUntil pending (a background snapshot
 * check, a flush timer) the handler instead runs on to the end, answering nobody. The one signal
 * is `request.signal`'s abort event ("The client has disconnected"), which fires at once with the
 * `enable_request_signal` compatibility flag (isomesh gen sets it on every data-plane Worker);
 * `ctx.waitUntil` still works from that listener, so the record is flushed from there. The same
 * listener cancels the try under way (`cancelTry`): one listener per request, no combined signal.
 */
export const telemetry =
  <T extends Exchange, R>(sink: TelemetrySink): Stage<T, T, R> =>
  async (x, next) => {
    if (x.kind === "rpc") {
      let status = 200;
      try {
        return await next(x);
      } catch (e) {
        status = rpcErrorStatus(e);
        throw e;
      } finally {
        sink.request(x, status, null);
      }
    }
    let recorded = false;
    const signal = x.inbound.signal;
    const cancelled = () => {
      x.callerGone = true;
      x.cancelTry?.();
      x.onGone?.();
      if (recorded) return;
      recorded = true;
      sink.request(x, CANCELLED_STATUS, null);
    };
    if (signal.aborted) cancelled();
    else signal.addEventListener("abort", cancelled, { once: true });
    const answer = await next(x);
    if (!recorded) {
      recorded = true;
      const response = answer as Response;
      sink.request(x, response.status, response.headers.get(H.backend));
    }
    return answer;
  };
