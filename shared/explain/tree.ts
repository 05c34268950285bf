import type { HopRecord } from "./hop.ts";

export type ExplainNode = HopRecord & { children: ExplainNode[] };

/**
 * Joins the hop records of one trace into a tree: a hop's parent is the hop whose span the
 * request carried (gateway → productpage-edge → reviews-edge → …). Orphans become roots.
 */
export function explainTree(records: HopRecord[]): ExplainNode[] {
  const nodes = new Map<string, ExplainNode>();
  // An inline service's hop is recorded twice, under one span: its outbound half in the caller's
  // isolate, its inbound half in the callee's. They are one hop, as at an edge: one node, the
  // inbound's decisions (authn, authz, rate limits) marked as decided in the callee's isolate.
  const ordered = [...records].sort((a, b) => Number(a.half === "inbound") - Number(b.half === "inbound"));
  for (const r of ordered) {
    const same = nodes.get(r.spanId);
    const inCallee = r.half === "inbound" ? r.decisions.map((d) => ({ ...d, isolate: "callee" })) : r.decisions;
    if (same && same.edge === r.edge) same.decisions.push(...inCallee);
    else nodes.set(r.spanId, { ...r, decisions: [...inCallee], children: [] });
  }
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
