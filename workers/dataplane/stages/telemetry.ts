import { H } from "../../../shared/headers.ts";
import { CANCELLED_STATUS } from "../../../shared/telemetry/outcome.ts";
import type { PassStage } from "../exchange.ts";
import type { TelemetrySink } from "../telemetry/record.ts";

/**
 * Records every request this edge received, once: when it answers, or when its caller gives up
 * first (code 0, `caller_cancelled`, with the time until then).
 *
 * How workerd tells a callee its caller is gone (measured in workerd 2026-04-26; production runs
 * the same runtime, see test/workers/cancellation.test.ts): when the caller aborts its
 * service-binding fetch, or its own request ends without awaiting ours, this request is cancelled.
 * With no waitUntil pending, nothing after the `await` it is parked on ever runs (no catch, no
 * finally), so recording after `next()` misses it. With a waitUntil pending (a background snapshot
 * check, a flush timer) the handler instead runs on to the end, answering nobody. The one signal
 * is `request.signal`'s abort event ("The client has disconnected"), which fires at once with the
 * `enable_request_signal` compatibility flag (isomesh gen sets it on every edge); `ctx.waitUntil`
 * still works from that listener, so the record is flushed from there.
 */
export const telemetry =
  (sink: TelemetrySink): PassStage =>
  async (x, next) => {
    let recorded = false;
    const signal = x.inbound.signal;
    const cancelled = () => {
      if (recorded) return;
      recorded = true;
      sink.request(x, CANCELLED_STATUS, null);
    };
    if (signal.aborted) cancelled();
    else signal.addEventListener("abort", cancelled);
    try {
      const response = await next(x);
      if (!recorded) {
        recorded = true;
        sink.request(x, response.status, response.headers.get(H.backend));
      }
      return response;
    } finally {
      signal.removeEventListener("abort", cancelled);
    }
  };
