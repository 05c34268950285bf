import { H } from "../../shared/headers.ts";

/**
 * W3C trace context of this hop: the incoming parent and the span this hop opens. An unsampled
 * trace that arrived with a traceparent opens no span (nothing would record it): the hop passes the
 * caller's traceparent on unchanged (`forwarded`), so forwarding it costs no header write.
 */
export type TraceContext = {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  sampled: boolean;
  state?: string;
  /** The tracestate header as it arrived (null: none), where this hop read it; the next hop gets `state` instead when they differ. */
  received?: string | null;
  /** The traceparent as it arrived, when this hop passes it on as is. */
  forwarded?: string;
};

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZEROS = /^0+$/;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

export function randomHex(bytes: number): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  let out = "";
  for (let i = 0; i < buf.length; i++) out += HEX[buf[i]];
  return out;
}

/**
 * Continues the caller's trace (traceparent, or B3 as a fallback) with a new span, or starts one.
 * A continued trace keeps the caller's sampling decision; a new one is sampled at `sampleRate`
 * (like Istio's tracing sampling), so every hop of one request agrees on whether it is traced.
 * `state` is the caller's tracestate (read by the caller only when a traceparent came).
 */
export function continueTrace(headers: Headers, sampleRate = 1): TraceContext {
  const parent = headers.get(H.traceparent);
  const m = parent === null ? null : TRACEPARENT.exec(parent);
  if (m && !ZEROS.test(m[1]) && !ZEROS.test(m[2])) {
    const sampled = (parseInt(m[3], 16) & 1) === 1;
    const received = headers.get(H.tracestate);
    const state = received ?? undefined;
    return sampled
      ? { traceId: m[1], parentSpanId: m[2], spanId: randomHex(8), sampled, state, received }
      : { traceId: m[1], parentSpanId: m[2], spanId: m[2], sampled, state, received, forwarded: parent! };
  }
  const b3 = b3Context(headers);
  if (b3) return { ...b3, spanId: randomHex(8) };
  const ids = randomHex(24);
  return { traceId: ids.slice(0, 32), spanId: ids.slice(32), sampled: sampleRate >= 1 || Math.random() < sampleRate };
}

function b3Context(headers: Headers): Omit<TraceContext, "spanId"> | undefined {
  const single = headers.get("b3");
  if (single) {
    const [traceId, spanId, sampled] = single.split("-");
    if (/^[0-9a-f]{16}([0-9a-f]{16})?$/.test(traceId ?? "") && /^[0-9a-f]{16}$/.test(spanId ?? ""))
      return { traceId: traceId.padStart(32, "0"), parentSpanId: spanId, sampled: sampled !== "0" };
  }
  const traceId = headers.get("x-b3-traceid");
  const spanId = headers.get("x-b3-spanid");
  if (traceId && spanId && /^[0-9a-f]{16}([0-9a-f]{16})?$/.test(traceId) && /^[0-9a-f]{16}$/.test(spanId))
    return { traceId: traceId.padStart(32, "0"), parentSpanId: spanId, sampled: headers.get("x-b3-sampled") !== "0" };
  return undefined;
}

export const traceparentOf = (t: TraceContext) =>
  t.forwarded ?? `00-${t.traceId}-${t.spanId}-${t.sampled ? "01" : "00"}`;

/** A child span of `t` (a mirror's copy, recorded by this hop as its own span). */
export const childSpan = (t: TraceContext): TraceContext => ({
  traceId: t.traceId,
  parentSpanId: t.spanId,
  spanId: randomHex(8),
  sampled: t.sampled,
  state: t.state,
});
