import type { HopRecord } from "./hop.ts";

export type ExplainNode = HopRecord & { children: ExplainNode[] };

/**
 * Joins the hop records of one trace into a tree: a hop's parent is the hop whose span the
 * request carried (gateway → productpage-edge → reviews-edge → …). Orphans become roots.
 */
export function explainTree(records: HopRecord[]): ExplainNode[] {
  const nodes = new Map(records.map((r) => [r.spanId, { ...r, children: [] as ExplainNode[] }]));
  const roots: ExplainNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.parentSpanId ? findAncestor(node.parentSpanId, nodes, records) : undefined;
    if (parent && parent !== node) parent.children.push(node);
    else roots.push(node);
  }
  const byTime = (a: ExplainNode, b: ExplainNode) => a.at - b.at;
  for (const n of nodes.values()) n.children.sort(byTime);
  return roots.sort(byTime);
}

/** The parent span may be an app's (not recorded): edges only know the span their caller sent. */
function findAncestor(spanId: string, nodes: Map<string, ExplainNode>, _records: HopRecord[]): ExplainNode | undefined {
  return nodes.get(spanId);
}
