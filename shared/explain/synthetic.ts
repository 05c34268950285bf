import { z } from "zod";
import { edgeName, EGRESS, GATEWAY } from "../names.ts";
import { PIPELINES, RPC_PIPELINE } from "../pipeline.ts";
import { isRpcMethodName } from "../rpc/method.ts";
import { rpcTarget, type RpcTarget } from "../rpc/match.ts";
import { RouteTable, type Routing } from "../routing/match.ts";
import { factsOf, type RequestFacts } from "../routing/request-facts.ts";
import type { CompiledBackend } from "../routing/split.ts";
import type { Identity } from "../security/identity-headers.ts";
import { principalOf } from "../security/jwt.ts";
import type { Snapshot } from "../snapshot/schema.ts";
import type { Decision } from "./record.ts";
import { EXPLAINERS } from "./stages.ts";

/** A request to evaluate without sending it (POST /v1/explain). */
export const SyntheticRequest = z.object({
  method: z.string().default("GET"),
  /** Full URL, or a path with `host`. */
  url: z.string().optional(),
  host: z.string().default("localhost"),
  path: z.string().default("/"),
  headers: z.record(z.string(), z.string()).default({}),
  /** JWT claims to assume (skips token verification). */
  claims: z.record(z.string(), z.unknown()).optional(),
  /** East-west: the calling service (starts at `service`'s edge instead of the gateway; `egress` for a call out). */
  caller: z.string().optional(),
  service: z.string().optional(),
  /** A Workers RPC call instead of a fetch (with `service`, the callee, and `caller`): its entrypoint (default: `default`) and method. */
  rpc: z
    .strictObject({
      entrypoint: z.string().max(128).optional(),
      method: z.string().refine(isRpcMethodName, "a method name a caller can call over RPC"),
    })
    .optional(),
});
export type SyntheticRequest = z.infer<typeof SyntheticRequest>;

export type SyntheticHop = {
  edge: string;
  caller: string;
  share: number;
  decisions: Decision[];
  children: SyntheticHop[];
};

/**
 * One hop of a synthetic request, as its edge's stages see it: the request the backend would get
 * (`url`, `headers`, which the stages rewrite as the edge's do) and what the stages decided so far.
 */
export type HopState = {
  readonly snapshot: Snapshot;
  readonly table: RouteTable;
  readonly input: SyntheticRequest;
  readonly caller: string;
  readonly url: URL;
  readonly headers: Headers;
  readonly facts: RequestFacts;
  /** The end user the gateway verified and passed on (a service edge behind the gateway). */
  readonly fromGateway?: Identity;
  /** The deadline the previous hop passes on (x-isomesh-deadline-ms). */
  readonly callerMs?: number;
  /** Set when the request is a Workers RPC call: what its decisions read instead of the URL and headers. */
  readonly rpc?: RpcTarget;
  identity?: Identity;
  routing?: Routing;
  deadlineMs?: number;
  /** The request each backend with filters of its own would get, or that its filters answer with a redirect. */
  readonly sentTo: Map<CompiledBackend, { url: URL; headers: Headers; redirected: boolean }>;
  readonly decisions: Decision[];
};

/** A stage's view of a synthetic request: it records what it would decide, and says "stop" where the edge would answer. */
export type Explainer = (h: HopState) => "stop" | void;

/**
 * Evaluates a request against compiled snapshots as the edges would: each hop walks its edge's
 * pipeline (shared/pipeline.ts) with the same decisions the edge's stages make; the split gives
 * every weighted backend its share instead of one random pick, and each backend with a share is
 * followed to its service edge with the request as this hop would send it (its own filters applied).
 */
export function explainSynthetic(
  input: SyntheticRequest,
  snapshotOf: (edge: string) => Snapshot | undefined,
): SyntheticHop[] {
  if (input.rpc) return [rpcHop(input, snapshotOf)];
  const url = new URL(input.url ?? `http://${input.host}${input.path.startsWith("/") ? input.path : `/${input.path}`}`);
  const start = input.service === EGRESS ? EGRESS : input.service ? edgeName(input.service) : GATEWAY;
  const caller = input.service ? (input.caller ?? "unknown") : "external";
  const fromGateway =
    caller === GATEWAY && input.claims ? { principal: principalOf(input.claims), claims: input.claims } : undefined;
  return [hop(start, caller, 1, url, new Headers(input.headers), fromGateway)];

  function hop(
    edge: string,
    caller: string,
    share: number,
    url: URL,
    headers: Headers,
    fromGateway?: Identity,
    callerMs?: number,
  ): SyntheticHop {
    const snapshot = snapshotOf(edge);
    const node: SyntheticHop = { edge, caller, share: Math.round(share * 10000) / 10000, decisions: [], children: [] };
    if (!snapshot) {
      node.decisions.push({ stage: "snapshot", decision: `no snapshot compiled for edge ${edge}` });
      return node;
    }
    const h: HopState = {
      snapshot,
      table: new RouteTable(snapshot.vhosts, snapshot),
      input,
      caller,
      url,
      headers,
      facts: factsOf(input.method, url, headers, snapshot.role === "egress"),
      fromGateway,
      callerMs,
      sentTo: new Map(),
      decisions: node.decisions,
    };
    for (const stage of PIPELINES[snapshot.role]) if (EXPLAINERS[stage](h) === "stop") return node;
    if (snapshot.role !== "gateway" || !h.routing) return node;
    const total = h.routing.backends.reduce((a, b) => a + b.weight, 0);
    for (const b of h.routing.backends) {
      const sent = h.sentTo.get(b);
      if (b.weight > 0 && !sent?.redirected)
        node.children.push(
          hop(
            edgeName(b.service),
            GATEWAY,
            (share * b.weight) / total,
            new URL(sent?.url ?? h.url),
            new Headers(sent?.headers ?? h.headers),
            h.identity,
            h.deadlineMs,
          ),
        );
    }
    return node;
  }
}

/**
 * A Workers RPC call at its callee's edge: the RPC path's stages (shared/pipeline.ts RPC_PIPELINE),
 * the same explainers as a fetch's reading the call instead of a URL. A call is one hop: the edge
 * calls the version's entrypoint, which is no edge.
 */
function rpcHop(input: SyntheticRequest, snapshotOf: (edge: string) => Snapshot | undefined): SyntheticHop {
  const edge = input.service ? edgeName(input.service) : GATEWAY;
  const caller = input.caller ?? "unknown";
  const node: SyntheticHop = { edge, caller, share: 1, decisions: [], children: [] };
  const snapshot = snapshotOf(edge);
  if (!input.service || input.service === EGRESS || snapshot?.role !== "service") {
    node.decisions.push({
      stage: "route",
      decision: "a Workers RPC call goes to a service's edge through its binding: name the callee with service",
      error: "no_route",
      status: 404,
    });
    return node;
  }
  const url = new URL("http://rpc.invalid/"); // read by no explainer of the RPC path
  const headers = new Headers();
  const h: HopState = {
    snapshot,
    table: new RouteTable(snapshot.vhosts, snapshot),
    input,
    caller,
    url,
    headers,
    facts: factsOf("POST", url, headers),
    rpc: rpcTarget(input.rpc!.entrypoint, input.rpc!.method),
    decisions: node.decisions,
    sentTo: new Map(),
  };
  for (const stage of RPC_PIPELINE) if (EXPLAINERS[stage](h) === "stop") return node;
  return node;
}
