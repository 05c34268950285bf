import { z } from "zod";
import { edgeName, EGRESS, GATEWAY } from "../names.ts";
import { egressVerdict } from "../routing/egress-allow.ts";
import { routeLabel, whyBeat } from "../routing/explain-precedence.ts";
import { RouteTable } from "../routing/match.ts";
import type { RequestFacts } from "../routing/request-facts.ts";
import type { CompiledBackend, Snapshot } from "../snapshot/schema.ts";
import type { Decision } from "./record.ts";
import { normalizeHost } from "../routing/host.ts";
import { normalizePath } from "../routing/normalize-path.ts";
import { requestTimeoutOf } from "../routing/request-timeout.ts";

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

/** A stage's view of a synthetic request: decisions it would make (edge-independent pure code). */
export type StageExplainer = (
  snapshot: Snapshot,
  facts: RequestFacts,
  input: SyntheticRequest,
  caller: string,
) => Decision[];
/** Explainers of the stages around routing, in pipeline order. */
export type StageExplainers = { beforeRoute: StageExplainer[]; afterRoute: StageExplainer[] };

/**
 * Evaluates a request against compiled snapshots as the edges would: route precedence exactly,
 * and every weighted backend with its share instead of one random pick. Follows each backend
 * with a non-zero share to its service edge.
 */
export function explainSynthetic(
  input: SyntheticRequest,
  snapshotOf: (edge: string) => Snapshot | undefined,
  extra: StageExplainers = { beforeRoute: [], afterRoute: [] },
): SyntheticHop[] {
  const url = new URL(input.url ?? `http://${input.host}${input.path.startsWith("/") ? input.path : `/${input.path}`}`);
  const headers = new Headers(input.headers);
  const facts: RequestFacts = {
    method: input.method.toUpperCase(),
    host: normalizeHost(headers.get("host") ?? url.host),
    path: url.pathname,
    query: url.searchParams,
    headers,
  };
  const start = input.service === EGRESS ? EGRESS : input.service ? edgeName(input.service) : GATEWAY;
  if (start === EGRESS) facts.host = normalizeHost(url.host); // the egress edge believes the URL, never a Host header
  return [hop(start, input.service ? (input.caller ?? "unknown") : "external", 1)];

  /** `callerMs`: the deadline the previous hop passes on (x-isomesh-deadline-ms). */
  function hop(edge: string, caller: string, share: number, callerMs?: number): SyntheticHop {
    const snapshot = snapshotOf(edge);
    const node: SyntheticHop = { edge, caller, share: round(share), decisions: [], children: [] };
    if (!snapshot) {
      node.decisions.push({ stage: "snapshot", decision: `no snapshot compiled for edge ${edge}` });
      return node;
    }
    const normalized = normalizePath(facts.path, snapshot.meshConfig.path);
    if (!normalized.ok) {
      node.decisions.push({ stage: "normalize", decision: normalized.reason, error: "invalid_path", status: 400 });
      return node;
    }
    if (normalized.path !== facts.path) {
      node.decisions.push({ stage: "normalize", decision: `path ${facts.path} is ${normalized.path}` });
      facts.path = normalized.path;
    }
    let deadlineMs: number | undefined;
    const timeout = (route: Parameters<typeof requestTimeoutOf>[0]) => {
      const t = requestTimeoutOf(route, snapshot, callerMs);
      deadlineMs = t?.ms;
      if (t)
        node.decisions.push({
          stage: "timeout",
          decision: `request timeout ${t.ms} ms (${t.source})`,
          requestMs: t.ms,
          source: t.source,
        });
    };
    const run = (explainers: StageExplainer[]) => {
      for (const explain of explainers) {
        node.decisions.push(...explain(snapshot, facts, input, caller));
        if (node.decisions.some((d) => d.final === true)) return true;
      }
      return false;
    };
    const table = new RouteTable(snapshot.vhosts);
    if (snapshot.role === "egress") {
      // The egress edge checks its allow-list first: the host's ExternalService, then its ports.
      const winner = table.match(facts);
      const verdict = egressVerdict(
        winner && snapshot.externals?.find((e) => e.name === winner.route),
        url,
        facts.host,
      );
      if (!verdict.ok) {
        node.decisions.push({
          stage: verdict.external ? "egress" : "route",
          decision: verdict.reason,
          error: "egress_denied",
          status: 403,
        });
        return node;
      }
      const { external } = verdict;
      node.decisions.push({
        stage: "egress",
        decision: `${url.host} allowed by ExternalService/${external.name}`,
        externalService: external.name,
      });
      if (run(extra.beforeRoute) || run(extra.afterRoute)) return node;
      node.decisions.push({ stage: "split", decision: `always ${external.name} (${url.origin})` });
      return node;
    }
    if (run(extra.beforeRoute)) return node;
    const [winner, ...others] = table.candidates(facts);
    let backends: CompiledBackend[];
    if (winner) {
      node.decisions.push({
        stage: "route",
        decision: `matched ${routeLabel(winner)}`,
        route: winner.route,
        rule: winner.rule,
        match: winner.match,
        beat: others.map((o) => whyBeat(winner, o)),
      });
      backends = winner.backends;
      if (winner.filters.some((f) => f.type === "RequestRedirect")) {
        node.decisions.push({
          stage: "filters",
          decision: "answered with a redirect",
          filters: winner.filters.map((f) => f.type),
        });
        return node;
      }
      if (winner.filters.length)
        node.decisions.push({ stage: "filters", decision: `applies ${winner.filters.map((f) => f.type).join(", ")}` });
      timeout(winner);
    } else if (snapshot.role === "service" && table.size === 0) {
      node.decisions.push({
        stage: "route",
        decision: "no HTTPRoute attached: default backends",
        source: snapshot.defaultSource ?? "equal split across versions",
      });
      backends = snapshot.defaultBackends;
      timeout(undefined);
    } else {
      node.decisions.push({ stage: "route", decision: "no route matched", error: "no_route", status: 404 });
      return node;
    }
    if (run(extra.afterRoute)) return node;
    if (snapshot.role === "service" && backends.some((b) => !b.version))
      backends = expand(backends, snapshot.defaultBackends);
    const total = backends.reduce((a, b) => a + b.weight, 0);
    if (total === 0) {
      node.decisions.push({ stage: "split", decision: "every backend has weight 0", error: "no_backend", status: 500 });
      return node;
    }
    const shares = Object.fromEntries(backends.map((b) => [label(b), round(b.weight / total)]));
    const weightsFrom = winner ? winner.weightsFrom : snapshot.defaultSource;
    const split =
      backends.length === 1
        ? `always ${label(backends[0])}`
        : `weighted: ${Object.entries(shares)
            .map(([k, v]) => `${k} ${Math.round(v * 1000) / 10}%`)
            .join(", ")}`;
    node.decisions.push({
      stage: "split",
      decision: weightsFrom ? `${split}, set by ${weightsFrom}` : split,
      shares,
      ...(weightsFrom ? { weightsFrom } : {}),
    });
    if (snapshot.policy?.stickySession)
      node.decisions.push({
        stage: "split",
        decision: `sticky on ${JSON.stringify(snapshot.policy.stickySession.hashOn)}: one client keeps one backend`,
      });
    if (snapshot.role === "gateway")
      for (const b of backends)
        if (b.weight > 0) node.children.push(hop(edgeName(b.service), GATEWAY, (share * b.weight) / total, deadlineMs));
    return node;
  }
}

const label = (b: CompiledBackend) => (b.version ? `${b.service}/${b.version}` : b.service);
const round = (n: number) => Math.round(n * 10000) / 10000;

function expand(declared: CompiledBackend[], defaults: CompiledBackend[]): CompiledBackend[] {
  const totalDefault = defaults.reduce((a, b) => a + b.weight, 0) || 1;
  return declared.flatMap((b) =>
    b.version
      ? [{ ...b, weight: b.weight * totalDefault }]
      : defaults.map((d) => ({ ...d, weight: b.weight * d.weight })),
  );
}
