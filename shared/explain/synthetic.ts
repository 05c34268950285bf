import { z } from "zod";
import { edgeName, EGRESS, GATEWAY } from "../names.ts";
import { PIPELINES } from "../pipeline.ts";
import { RouteTable, type Routing } from "../routing/match.ts";
import { factsOf, type RequestFacts } from "../routing/request-facts.ts";
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
  identity?: Identity;
  routing?: Routing;
  deadlineMs?: number;
  readonly decisions: Decision[];
};

/** A stage's view of a synthetic request: it records what it would decide, and says "stop" where the edge would answer. */
export type Explainer = (h: HopState) => "stop" | void;

/**
 * Evaluates a request against compiled snapshots as the edges would: each hop walks its edge's
 * pipeline (shared/pipeline.ts) with the same decisions the edge's stages make; the split gives
 * every weighted backend its share instead of one random pick, and each backend with a share is
 * followed to its service edge with the request as this hop would send it.
 */
export function explainSynthetic(
  input: SyntheticRequest,
  snapshotOf: (edge: string) => Snapshot | undefined,
): SyntheticHop[] {
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
      decisions: node.decisions,
    };
    for (const stage of PIPELINES[snapshot.role]) if (EXPLAINERS[stage](h) === "stop") return node;
    if (snapshot.role !== "gateway" || !h.routing) return node;
    const total = h.routing.backends.reduce((a, b) => a + b.weight, 0);
    for (const b of h.routing.backends)
      if (b.weight > 0)
        node.children.push(
          hop(
            edgeName(b.service),
            GATEWAY,
            (share * b.weight) / total,
            new URL(h.url),
            new Headers(h.headers),
            h.identity,
            h.deadlineMs,
          ),
        );
    return node;
  }
}
