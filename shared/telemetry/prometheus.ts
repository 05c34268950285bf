import type { MetricSeries } from "../control-api.ts";
import { LATENCY_BUCKETS_MS } from "../histogram.ts";
import { FLAG_NAMES } from "./flags.ts";

const esc = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const labels = (l: Record<string, string>) =>
  `{${Object.entries(l)
    .map(([k, v]) => `${k}="${esc(v)}"`)
    .join(",")}}`;

type Totals = { count: number; sumMs: number; buckets: number[]; retries: number };
const addTotals = (a: Totals, b: Totals): Totals => ({
  count: a.count + b.count,
  sumMs: a.sumMs + b.sumMs,
  buckets: Array.from(
    { length: Math.max(a.buckets.length, b.buckets.length) },
    (_, i) => (a.buckets[i] ?? 0) + (b.buckets[i] ?? 0),
  ),
  retries: a.retries + b.retries,
});

/** Seconds, Prometheus' base unit, from the milliseconds edges measure: `0.0005`, `0.013`, never `0.013000000000000001`. */
const seconds = (ms: number) => String(Number((ms / 1000).toPrecision(12)));

/**
 * Prometheus text exposition (format 0.0.4) of cumulative series, with Istio's label names and
 * the duration in seconds (`promtool check metrics` silent). Every (name, labels) appears once:
 * series whose labels coincide (the flags counter has no route or code label) are added up.
 * `edges` are the config versions each edge reports; `version` the control plane's.
 */
export function prometheusText(
  series: MetricSeries[],
  edges: { edge: string; version: number | null }[],
  version: number,
): string {
  const out: string[] = [];
  const base = (s: MetricSeries) => ({
    reporter: s.reporter,
    source_workload: s.source,
    destination_service: s.destination,
    destination_version: s.version,
    route: s.route,
    response_code: String(s.code),
    // Only on a RequestMirror's copies, so queries written for Istio keep their meaning; {mirror=""} leaves them out.
    ...(s.mirror ? { mirror: "true" } : {}),
    // Only on Workers RPC calls (the method, as Istio's gRPC series carry grpc_response_status): {rpc_method=""} is fetch.
    ...(s.method !== undefined ? { rpc_method: s.method } : {}),
  });
  const requests = new Map<string, Totals>();
  for (const s of series) {
    const l = labels(base(s));
    const had = requests.get(l);
    requests.set(l, had ? addTotals(had, s) : s);
  }
  out.push(
    "# HELP isomesh_requests_total Requests handled, counted once per reporting edge (response_code 0: the caller gave up first).",
    "# TYPE isomesh_requests_total counter",
  );
  for (const [l, t] of requests) out.push(`isomesh_requests_total${l} ${t.count}`);

  // Seconds, as OpenTelemetry's http.server.request.duration and Prometheus' naming rules ask.
  out.push(
    "# HELP isomesh_request_duration_seconds Request duration at the reporting edge, in seconds.",
    "# TYPE isomesh_request_duration_seconds histogram",
  );
  for (const [l, t] of requests) {
    const withLe = (le: string) => `${l.slice(0, -1)},le="${le}"}`;
    let cumulative = 0;
    LATENCY_BUCKETS_MS.forEach((le, i) => {
      cumulative += t.buckets[i] ?? 0;
      out.push(`isomesh_request_duration_seconds_bucket${withLe(seconds(le))} ${cumulative}`);
    });
    out.push(`isomesh_request_duration_seconds_bucket${withLe("+Inf")} ${t.count}`);
    out.push(`isomesh_request_duration_seconds_sum${l} ${seconds(t.sumMs)}`);
    out.push(`isomesh_request_duration_seconds_count${l} ${t.count}`);
  }

  out.push("# HELP isomesh_retries_total Retries sent by the reporting edge.", "# TYPE isomesh_retries_total counter");
  for (const [l, t] of requests) out.push(`isomesh_retries_total${l} ${t.retries}`);

  out.push(
    `# HELP isomesh_request_flags_total Requests by what happened to them (${FLAG_NAMES.join(", ")}).`,
    "# TYPE isomesh_request_flags_total counter",
  );
  const flagged = series.flatMap((s) => Object.entries(s.flags).map(([flag, n]) => ({ s, flag, n })));
  const flags = new Map<string, number>();
  for (const { s, flag, n } of flagged) {
    const l = labels({
      reporter: s.reporter,
      source_workload: s.source,
      destination_service: s.destination,
      destination_version: s.version,
      ...(s.mirror ? { mirror: "true" } : {}),
      ...(s.method !== undefined ? { rpc_method: s.method } : {}),
      flag,
    });
    flags.set(l, (flags.get(l) ?? 0) + n);
  }
  for (const [l, n] of flags) out.push(`isomesh_request_flags_total${l} ${n}`);

  out.push(
    "# HELP isomesh_config_version Config version served by the control plane.",
    "# TYPE isomesh_config_version gauge",
    `isomesh_config_version ${version}`,
  );
  out.push(
    "# HELP isomesh_edge_config_version Config version each edge reports running.",
    "# TYPE isomesh_edge_config_version gauge",
  );
  for (const e of edges)
    if (e.version !== null) out.push(`isomesh_edge_config_version${labels({ edge: e.edge })} ${e.version}`);
  return out.join("\n") + "\n";
}
