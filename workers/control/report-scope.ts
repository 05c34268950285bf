import type { ControlCaller, EdgeReport, TelemetryBatch } from "../../shared/control-api.ts";
import type { Topology } from "../../shared/manifest/topology.ts";
import { edgeName, GATEWAY, inlineHolderBinding, versionWorkerName } from "../../shared/names.ts";
import { edgesOf } from "../../shared/snapshot/scope.ts";

/**
 * What the holder of one CONTROL binding may report and read, from the binding's props (DESIGN §2:
 * reports are bound to their sender): the edges whose snapshots it legitimately holds. An edge
 * Worker runs no app code, so its edges are all it is held to. An app's isolate runs inline stages
 * beside the app's own code, which can reach the binding (`import { env } from "cloudflare:workers"`),
 * so it is held to its own pairs too: it counts only calls its service made or received, and speaks
 * only for isolates of its own version.
 */
export type ReportScope = {
  /** Who, for the log. */
  who: string;
  edges: ReadonlySet<string>;
  app?: { service: string; isolatePrefix: string };
};

const inlineServices = (t: Topology) => new Set(t.services.filter((s) => s.dataPlane === "inline").map((s) => s.name));

export function reportScope(topology: Topology, caller: ControlCaller): ReportScope {
  const inline = inlineServices(topology);
  if ("edge" in caller) {
    const edges = new Set<string>();
    // An edge Worker: the gateway, the egress edge, or the edge of a service whose stages are not inline.
    const workers = edgesOf(topology).filter((e) => ![...inline].some((s) => edgeName(s) === e));
    if (workers.includes(caller.edge)) {
      edges.add(caller.edge);
      // The gateway runs every inline service's outbound half (it calls their versions directly).
      if (caller.edge === GATEWAY) for (const s of inline) edges.add(edgeName(s));
    }
    return { who: `edge ${caller.edge}`, edges };
  }
  const edges = new Set<string>();
  const service = topology.services.find((s) => s.name === caller.service);
  if (service?.versions.includes(caller.version)) {
    // Its own inbound half when its service is inline, and the outbound half of each inline service it calls.
    if (inline.has(service.name)) edges.add(edgeName(service.name));
    for (const c of service.calls) if (inline.has(c)) edges.add(edgeName(c));
  }
  const who = `${caller.service}/${caller.version}`;
  return { who, edges, app: { service: caller.service, isolatePrefix: `${who}#` } };
}

/** The Worker behind a control-plane binding that nudges an inline holder (`INLINE_<worker>`, or the gateway's). */
export function holderCaller(topology: Topology, binding: string, gatewayBinding: string): ControlCaller | undefined {
  if (binding === gatewayBinding) return { edge: GATEWAY };
  for (const s of topology.services)
    for (const v of s.versions)
      if (inlineHolderBinding(versionWorkerName(s.name, v)) === binding) return { service: s.name, version: v };
  return undefined;
}

export const reportAllowed = (scope: ReportScope, r: EdgeReport) =>
  scope.edges.has(r.edge) && (!scope.app || r.isolate.startsWith(scope.app.isolatePrefix));

/** A series counted at an edge the holder runs; an app's only for a call its service made or received, counted at the callee's edge. */
const seriesAllowed = (scope: ReportScope, s: TelemetryBatch["series"][number]) =>
  scope.edges.has(s.reporter) &&
  (!scope.app ||
    (s.reporter === edgeName(s.destination) &&
      (s.source === scope.app.service || s.destination === scope.app.service)));

export type Admitted = Omit<TelemetryBatch, "report" | "reports"> & { reports: EdgeReport[] };

/**
 * Keeps what `scope` may send of a batch and names the rest. What a holder may not send is dropped,
 * never rewritten: a legitimate data plane never sends it, so it is a forgery (or a bug) to log.
 */
export function admit(scope: ReportScope, batch: TelemetryBatch): { admitted: Admitted; refused: string[] } {
  const refused: string[] = [];
  const keep = <T>(items: T[], ok: (t: T) => boolean, what: (t: T) => string) =>
    items.filter((t) => ok(t) || (refused.push(what(t)), false));
  return {
    admitted: {
      windowStart: batch.windowStart,
      reports: keep(
        [batch.report, ...(batch.reports ?? [])],
        (r) => reportAllowed(scope, r),
        (r) => `report of edge ${r.edge} (isolate ${r.isolate})`,
      ),
      series: keep(
        batch.series,
        (s) => seriesAllowed(scope, s),
        (s) => `series ${s.source} → ${s.destination} counted by ${s.reporter}`,
      ),
      spans: keep(
        batch.spans,
        (s) => scope.edges.has(s.edge),
        (s) => `span of edge ${s.edge}`,
      ),
      explains: keep(
        batch.explains,
        (e) => scope.edges.has(e.edge),
        (e) => `decision record of edge ${e.edge}`,
      ),
    },
    refused,
  };
}
