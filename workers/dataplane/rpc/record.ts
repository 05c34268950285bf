import { backendLabel, type CompiledBackend } from "../../../shared/routing/split.ts";
import type { RpcTarget } from "../../../shared/rpc/match.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import type { Flag } from "../../../shared/telemetry/flags.ts";
import type { DecisionLog } from "../../../shared/explain/record.ts";
import type { TelemetryRecorder } from "../telemetry/recorder.ts";
import type { TraceContext } from "../trace.ts";

/** What the edge records of one Workers RPC call once it ended. */
export type RpcRecord = {
  readonly startedAt: number;
  readonly ctx: ExecutionContext;
  readonly caller: string;
  readonly call: RpcTarget;
  readonly requestId: string;
  readonly trace: TraceContext;
  readonly flags: Set<Flag>;
  readonly record: DecisionLog;
  attempts: number;
  route?: { route: string; rule: number };
  backend?: CompiledBackend;
};

/** Method labels an isolate keeps when the exports are not known (a deployed Worker): the first names seen. */
const MAX_UNLISTED_METHODS = 64;
const unlisted = new Set<string>();

/**
 * The method label of a call's series, bounded (docs/observability.md#workers-rpc): a name some
 * version exports, else `(unknown)`; without an export list, the first 64 names, then `(other)`.
 * A call answered "no such method" is `(unknown)` whatever the list says.
 */
export function methodLabel(known: readonly string[] | undefined, name: string, status: number): string {
  if (status === 404) return "(unknown)";
  if (known) return known.includes(name) ? name : "(unknown)";
  if (unlisted.has(name)) return name;
  if (unlisted.size >= MAX_UNLISTED_METHODS) return "(other)";
  unlisted.add(name);
  return name;
}

/** Records RPC calls as the fetch sink records requests: a metric observation with the method, a span, an access-log line. */
export function rpcSink(
  snapshot: Snapshot,
  recorder: TelemetryRecorder,
  accessLogRate: number,
  flush: (ctx: ExecutionContext) => void,
) {
  const service = snapshot.service ?? snapshot.edge;
  const logged = () => accessLogRate > 0 && (accessLogRate >= 1 || Math.random() < accessLogRate);
  return (x: RpcRecord, status: number) => {
    const durationMs = Date.now() - x.startedAt;
    const version = x.backend?.version ?? "unknown";
    const route = x.route?.route ?? "default";
    const backend = x.backend ? backendLabel(x.backend) : null;
    recorder.observe({
      reporter: snapshot.edge,
      source: x.caller,
      destination: service,
      version,
      route,
      code: status,
      durationMs,
      retries: Math.max(0, x.attempts - 1),
      flags: x.flags,
      method: methodLabel(snapshot.rpcMethods, x.call.fullName, status),
    });
    if (x.trace.sampled)
      recorder.span({
        traceId: x.trace.traceId,
        spanId: x.trace.spanId,
        service,
        edge: snapshot.edge,
        name: `RPC ${x.call.fullName}`,
        startMs: x.startedAt,
        durationMs,
        status,
        attributes: {
          caller: x.caller,
          route,
          backend: backend ?? service,
          attempts: x.attempts,
          "rpc.system": "workers_rpc",
          "rpc.method": x.call.fullName,
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
          protocol: "rpc",
          rpcMethod: x.call.fullName,
          route: x.route ? `${x.route.route}/${x.route.rule}` : null,
          backend,
          status,
          durationMs,
          attempts: x.attempts,
          flags: [...x.flags],
        }),
      );
    if (x.record.on)
      recorder.explain({
        id: x.trace.traceId,
        traceId: x.trace.traceId,
        spanId: x.trace.spanId,
        edge: snapshot.edge,
        caller: x.caller,
        method: "RPC",
        url: `rpc:${x.call.fullName}`,
        at: x.startedAt,
        status,
        durationMs,
        decisions: x.record.decisions,
      });
    flush(x.ctx);
  };
}
