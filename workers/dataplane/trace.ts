import { H } from "../../shared/headers.ts";

/** W3C trace context of this hop: the incoming parent and the span this edge opens. */
export type TraceContext = { traceId: string; spanId: string; parentSpanId?: string; sampled: boolean; state?: string };

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

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
 */
export function continueTrace(headers: Headers, sampleRate = 1): TraceContext {
  const parent = headers.get(H.traceparent);
  const m = parent === null ? null : TRACEPARENT.exec(parent);
  if (m && !/^0+$/.test(m[1]) && !/^0+$/.test(m[2]))
    return {
      traceId: m[1],
      parentSpanId: m[2],
      spanId: randomHex(8),
      sampled: (parseInt(m[3], 16) & 1) === 1,
      state: headers.get(H.tracestate) ?? undefined,
    };
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

export const traceparentOf = (t: TraceContext) => `00-${t.traceId}-${t.spanId}-${t.sampled ? "01" : "00"}`;
