import type { Span } from "../control-api.ts";
import { CANCELLED_STATUS } from "./outcome.ts";

type AnyValue = { stringValue: string } | { intValue: string } | { doubleValue: number } | { boolValue: boolean };
const value = (v: string | number | boolean): AnyValue =>
  typeof v === "string"
    ? { stringValue: v }
    : typeof v === "boolean"
      ? { boolValue: v }
      : Number.isInteger(v)
        ? { intValue: String(v) }
        : { doubleValue: v };
const nanos = (ms: number) => `${BigInt(Math.round(ms * 1000)) * 1000n}`;

/** Spans as an OTLP/HTTP JSON ExportTraceServiceRequest, one resource per service. */
export function toOtlp(spans: Span[]) {
  const byService = new Map<string, Span[]>();
  for (const s of spans) byService.set(s.service, [...(byService.get(s.service) ?? []), s]);
  return {
    resourceSpans: [...byService].map(([service, list]) => ({
      resource: {
        attributes: [
          { key: "service.name", value: value(service) },
          { key: "isomesh.mesh", value: value("isomesh") },
        ],
      },
      scopeSpans: [
        {
          scope: { name: "isomesh-edge" },
          spans: list.map((s) => ({
            traceId: s.traceId,
            spanId: s.spanId,
            ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
            name: s.name,
            // SERVER: the edge serves its caller; a mirror's copy is sent by the edge (CLIENT).
            kind: s.attributes.mirror === true ? 3 : 2,
            startTimeUnixNano: nanos(s.startMs),
            endTimeUnixNano: nanos(s.startMs + s.durationMs),
            attributes: [
              // No answer was sent to a caller that gave up: no status code, an error.type instead (OTel semconv).
              s.status === CANCELLED_STATUS
                ? { key: "error.type", value: value("caller_cancelled") }
                : { key: "http.response.status_code", value: value(s.status) },
              { key: "isomesh.edge", value: value(s.edge) },
              ...Object.entries(s.attributes).map(([key, v]) => ({ key: `isomesh.${key}`, value: value(v) })),
            ],
            status:
              s.status === CANCELLED_STATUS
                ? { code: 2, message: "the caller gave up before the edge answered" }
                : { code: s.status >= 500 ? 2 : 1 },
          })),
        },
      ],
    })),
  };
}
