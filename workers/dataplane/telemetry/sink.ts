import { H } from "../../../shared/headers.ts";
import { backendLabel } from "../../../shared/routing/split.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import type { Flag } from "../../../shared/telemetry/flags.ts";
import { CANCELLED_STATUS } from "../../../shared/telemetry/outcome.ts";
import { spanName } from "../../../shared/telemetry/span-name.ts";
import type { Exchange, FetchExchange } from "../exchange.ts";
import type { TraceContext } from "../trace.ts";
import { methodLabel } from "./method-label.ts";
import type { TelemetryRecorder } from "./recorder.ts";

/** A RequestMirror's copy as this edge sent it to a version: its own span, its answer and time. */
export type MirrorCopy = { trace: TraceContext; version: string; startedAt: number; status: number; flags: Flag[] };

/** What a hop records of each request: a metric observation, a span, an access-log line and, when asked, its decisions. */
export type TelemetrySink = {
  /** This hop's answer (`status`), or CANCELLED_STATUS when the caller gave up first; `backend` is the response's x-isomesh-backend. */
  request(x: Exchange, status: number, backend: string | null): void;
  /** A mirror's copy, recorded as arriving at the version this edge sent it to. */
  mirror(x: FetchExchange, copy: MirrorCopy): void;
};

/**
 * Builds the sink for one snapshot. Every record ends with `flush(ctx)` in the context it was
 * made in (the request, its abort listener, the mirror's waitUntil): see TelemetryFlusher. A
 * fetch and a Workers RPC call are recorded alike; a call's series carries its method.
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
      const entry = x.route?.entry;
      const route = entry?.route ?? "default";
      const mirror = x.mirror || undefined;
      const rpc = x.kind === "rpc" ? x : undefined;
      const fetch = x.kind === "fetch" ? x : undefined;
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
        ...(rpc ? { method: methodLabel(snapshot.rpcMethods, rpc.call.fullName, status) } : {}),
      });
      const backend = backendLabel({ service: destination, version: version === "unknown" ? undefined : version });
      if (x.trace.sampled)
        recorder.span({
          traceId: x.trace.traceId,
          spanId: x.trace.spanId,
          parentSpanId: x.trace.parentSpanId,
          service,
          edge: snapshot.edge,
          name: rpc ? `RPC ${rpc.call.fullName}` : spanName(fetch!.method, fetch!.url.pathname),
          startMs: x.startedAt,
          durationMs,
          status,
          attributes: {
            caller: x.caller,
            route,
            backend: rpc ? (x.backend ? backend : service) : backend,
            attempts: x.attempts,
            ...(rpc ? { "rpc.system": "workers_rpc", "rpc.method": rpc.call.fullName } : {}),
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
            ...(fetch
              ? {
                  principal:
                    x.identity?.principal ??
                    (x.trustedCaller ? (fetch.headers.get(H.principal) ?? undefined) : undefined),
                  method: fetch.method,
                  host: fetch.host,
                  path: fetch.url.pathname + fetch.url.search,
                }
              : { protocol: "rpc", rpcMethod: rpc!.call.fullName }),
            route: entry ? `${entry.route}/${entry.rule}` : null,
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
          method: fetch ? fetch.method : "RPC",
          url: fetch ? fetch.url.toString() : `rpc:${rpc!.call.fullName}`,
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
          name: spanName(x.method, x.url.pathname),
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
            method: x.method,
            host: x.host,
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
