import { H } from "../../../shared/headers.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import type { Stage } from "../exchange.ts";
import type { TelemetryRecorder } from "../telemetry/recorder.ts";

/**
 * Measures every request at this edge: a metric series observation, a span, and an access-log
 * line (JSON, one per request, sampled by ACCESS_LOG: "off", "on" or a rate like "0.1").
 */
export const telemetry =
  (snapshot: Snapshot, recorder: TelemetryRecorder, accessLogRate: number, flush: (ctx: ExecutionContext) => void): Stage =>
  async (x, next) => {
    const response = await next();
    const durationMs = Date.now() - x.startedAt;
    const [destination, version] = destinationOf(snapshot, x, response);
    const route = x.route ? x.route.route : "default";
    recorder.observe({
      reporter: snapshot.edge,
      source: x.caller,
      destination,
      version,
      route,
      code: response.status,
      durationMs,
      retries: Math.max(0, x.attempts - 1),
      flags: x.flags,
    });
    if (x.trace.sampled)
      recorder.span({
        traceId: x.trace.traceId,
        spanId: x.trace.spanId,
        parentSpanId: x.trace.parentSpanId,
        service: snapshot.service ?? snapshot.edge,
        edge: snapshot.edge,
        name: `${x.inbound.method} ${x.url.pathname}`,
        startMs: x.startedAt,
        durationMs,
        status: response.status,
        attributes: { caller: x.caller, route, backend: version === "unknown" ? destination : `${destination}/${version}`, attempts: x.attempts },
      });
    if (accessLogRate > 0 && (accessLogRate >= 1 || Math.random() < accessLogRate))
      console.log(
        JSON.stringify({
          type: "access",
          at: new Date(x.startedAt).toISOString(),
          edge: snapshot.edge,
          requestId: x.requestId,
          traceId: x.trace.traceId,
          caller: x.caller,
          principal: x.principal,
          method: x.inbound.method,
          host: x.facts.host,
          path: x.url.pathname + x.url.search,
          route: x.route ? `${x.route.route}/${x.route.rule}` : null,
          backend: response.headers.get(H.backend),
          status: response.status,
          durationMs,
          attempts: x.attempts,
          flags: [...x.flags],
        }),
      );
    flush(x.ctx);
    return response;
  };

/** The service and version a request went to, as this edge knows it (the gateway learns the version from the response). */
function destinationOf(snapshot: Snapshot, x: Parameters<Stage>[0], response: Response): [string, string] {
  if (snapshot.role === "service") return [snapshot.service ?? snapshot.edge, x.backend?.version ?? "unknown"];
  // Like Istio's BlackHoleCluster: one series for every host no ExternalService declares (bounded cardinality).
  if (snapshot.role === "egress") return [x.route?.route ?? "unregistered", "external"];
  const reported = response.headers.get(H.backend);
  if (reported?.includes("/")) {
    const [service, version] = reported.split("/", 2);
    if (service === x.backend?.service) return [service, version];
  }
  return [x.backend?.service ?? "unknown", "unknown"];
}
