import type { MetricSeries } from "../control-api.ts";
import { golden, type Golden } from "./aggregate.ts";
import { EGRESS } from "../names.ts";

/** `external` is the internet's clients; `external-service` an ExternalService apps call out to. */
export type GraphNode = {
  id: string;
  kind: "external" | "gateway" | "service" | "external-service";
  versions: string[];
} & Partial<Golden>;
export type GraphEdge = { source: string; target: string } & Golden;

/**
 * The service graph (Kiali-style) from the series: an edge per (caller → service) seen by the
 * service's own edge, plus external → gateway from the gateway's reports and app → ExternalService
 * from the egress edge's (ExternalService nodes are of kind "external-service").
 */
export function serviceGraph(
  all: MetricSeries[],
  services: { name: string; versions: string[] }[],
  windowSec: number,
): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const series = all.filter((s) => !s.mirror); // the calls callers made, not the mesh's copies
  const pairs = new Map<string, MetricSeries[]>();
  const add = (source: string, target: string, s: MetricSeries) =>
    pairs.set(`${source}\u0000${target}`, [...(pairs.get(`${source}\u0000${target}`) ?? []), s]);
  for (const s of series) {
    if (s.reporter === "gateway") add(s.source, "gateway", s);
    else if (s.reporter === `${s.destination}-edge` || s.reporter === EGRESS) add(s.source, s.destination, s);
  }
  const externals = new Set(series.filter((s) => s.reporter === EGRESS).map((s) => s.destination));
  const edges: GraphEdge[] = [...pairs].map(([k, v]) => {
    const [source, target] = k.split("\u0000");
    return { source, target, ...golden(v, windowSec) };
  });
  const nodes = new Map<string, GraphNode>();
  for (const svc of services) nodes.set(svc.name, { id: svc.name, kind: "service", versions: svc.versions });
  for (const e of edges)
    for (const id of [e.source, e.target])
      if (!nodes.has(id))
        nodes.set(id, {
          id,
          kind:
            id === "gateway"
              ? "gateway"
              : id === "external"
                ? "external"
                : externals.has(id)
                  ? "external-service"
                  : "service",
          versions: [],
        });
  for (const n of nodes.values()) {
    const inbound = series.filter((s) =>
      n.kind === "gateway"
        ? s.reporter === "gateway"
        : externals.has(n.id)
          ? s.reporter === EGRESS && s.destination === n.id
          : s.reporter === `${n.id}-edge`,
    );
    if (inbound.length) Object.assign(n, golden(inbound, windowSec));
  }
  return { nodes: [...nodes.values()], edges };
}
