import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import { backendLabel } from "../../../shared/routing/split.ts";
import type { Flag } from "../../../shared/telemetry/flags.ts";
import { CANCELLED_STATUS } from "../../../shared/telemetry/outcome.ts";
import type { Exchange } from "../exchange.ts";
import type { TraceContext } from "../trace.ts";
import type { TelemetryRecorder } from "./recorder.ts";

/** A RequestMirror's copy as this edge sent it to a version: its own span, its answer and time. */
export type MirrorCopy = { trace: TraceContext; version: string; startedAt: number; status: number; flags: Flag[] };

/** What an edge records of each request: a metric observation, a span, an access-log line and, when asked, its decisions. */
export type TelemetrySink = {
  /** This edge's answer (`status`), or CANCELLED_STATUS when the caller gave up first; `backend` is the response's x-isomesh-backend. */
  request(x: Exchange, status: number, backend: string | null): void;
  /** A mirror's copy, recorded as arriving at the version this edge sent it to. */
  mirror(x: Exchange, copy: MirrorCopy): void;
};

/**
 * Builds the sink for one snapshot. Every record ends with `flush(ctx)` in the context it was
 * made in (the request, its abort listener, the mirror's waitUntil): see TelemetryFlusher.
 */
export function telemetrySink(
  snapshot: Snapshot,
  recorder: TelemetryRecorder,
  accessLogRate: number,
  flush: (ctx: ExecutionContext) => void,
): TelemetrySink {
  const service = snapshot.service ?? snapshot.edge;
  const logged = () => accessLogRate > 0 && (accessLogRate >= 1 || Math.random() < accessLogRate);
  return {
    request(x, status, backendHeader) {
      const durationMs = Date.now() - x.startedAt;
      const cancelled = status === CANCELLED_STATUS;
      if (cancelled) x.flags.add("caller_cancelled");
      const [destination, version] = destinationOf(snapshot, x, backendHeader);
      const route = x.route?.entry?.route ?? "default";
      const mirror = x.mirror || undefined;
      recorder.observe({
        reporter: snapshot.edge,
        source: x.caller,
        destination,
        version,
        route,
        code: status,
        durationMs,
        retries: Math.max(0, x.attempts - 1),
        flags: x.flags,
        mirror,
      });
      const backend = backendLabel({ service: destination, version: version === "unknown" ? undefined : version });
      if (x.trace.sampled)
        recorder.span({
          traceId: x.trace.traceId,
          spanId: x.trace.spanId,
          parentSpanId: x.trace.parentSpanId,
          service,
          edge: snapshot.edge,
          name: `${x.inbound.method} ${x.url.pathname}`,
          startMs: x.startedAt,
          durationMs,
          status,
          attributes: {
            caller: x.caller,
            route,
            backend,
            attempts: x.attempts,
            ...(cancelled ? { cancelled: true } : {}),
            ...(mirror ? { mirror: true } : {}),
          },
        });
      if (logged())
        console.log(
          JSON.stringify({
            type: "access",
            at: new Date(x.startedAt).toISOString(),
            edge: snapshot.edge,
            requestId: x.requestId,
            traceId: x.trace.traceId,
            caller: x.caller,
            principal: x.identity?.principal,
            method: x.inbound.method,
            host: x.facts.host,
            path: x.url.pathname + x.url.search,
            route: x.route?.entry ? `${x.route.entry.route}/${x.route.entry.rule}` : null,
            backend: backendHeader ?? (x.backend ? backend : null),
            status,
            durationMs,
            attempts: x.attempts,
            flags: [...x.flags],
            ...(mirror ? { mirror: true } : {}),
          }),
        );
      if (x.record.on) {
        if (mirror)
          x.record.note("mirror", "a RequestMirror's copy: counted apart from real traffic, its answer goes nowhere");
        if (cancelled)
          x.record.note("cancel", `the caller gave up after ${durationMs} ms: recorded with code 0 (caller_cancelled)`);
        recorder.explain({
          id: x.trace.traceId,
          traceId: x.trace.traceId,
          spanId: x.trace.spanId,
          parentSpanId: x.trace.parentSpanId,
          edge: snapshot.edge,
          caller: x.caller,
          method: x.inbound.method,
          url: x.url.toString(),
          at: x.startedAt,
          status,
          durationMs,
          decisions: x.record.decisions,
        });
      }
      flush(x.ctx);
    },

    mirror(x, copy) {
      const durationMs = Date.now() - copy.startedAt;
      const route = x.route?.entry?.route ?? "default";
      const flags: Flag[] = ["mirror", ...copy.flags];
      recorder.observe({
        reporter: snapshot.edge,
        source: x.caller,
        destination: service,
        version: copy.version,
        route,
        code: copy.status,
        durationMs,
        retries: 0,
        flags,
        mirror: true,
      });
      const backend = backendLabel({ service, version: copy.version });
      if (copy.trace.sampled)
        recorder.span({
          traceId: copy.trace.traceId,
          spanId: copy.trace.spanId,
          parentSpanId: copy.trace.parentSpanId, // the span of the request it copies
          service,
          edge: snapshot.edge,
          name: `${x.inbound.method} ${x.url.pathname}`,
          startMs: copy.startedAt,
          durationMs,
          status: copy.status,
          attributes: { caller: x.caller, route, backend, attempts: 1, mirror: true },
        });
      if (logged())
        console.log(
          JSON.stringify({
            type: "access",
            at: new Date(copy.startedAt).toISOString(),
            edge: snapshot.edge,
            requestId: x.requestId,
            traceId: copy.trace.traceId,
            caller: x.caller,
            principal: x.identity?.principal,
            method: x.inbound.method,
            host: x.facts.host,
            path: x.url.pathname + x.url.search,
            route: x.route?.entry ? `${x.route.entry.route}/${x.route.entry.rule}` : null,
            backend,
            status: copy.status,
            durationMs,
            attempts: 1,
            flags,
            mirror: true,
          }),
        );
      flush(x.ctx);
    },
  };
}

/** The service and version a request went to, as this edge knows it (the gateway learns the version from the response). */
function destinationOf(snapshot: Snapshot, x: Exchange, reported: string | null): [string, string] {
  if (snapshot.role === "service") return [snapshot.service ?? snapshot.edge, x.backend?.version ?? "unknown"];
  // Like Istio's BlackHoleCluster: one series for every host no ExternalService declares (bounded cardinality).
  if (snapshot.role === "egress") return [x.route?.entry?.route ?? "unregistered", "external"];
  if (reported?.includes("/")) {
    const [service, version] = reported.split("/", 2);
    if (service === x.backend?.service) return [service, version];
  }
  return [x.backend?.service ?? "unknown", "unknown"];
}
