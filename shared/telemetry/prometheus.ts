import type { MetricSeries } from "../control-api.ts";
import { LATENCY_BUCKETS_MS } from "../histogram.ts";
import { FLAG_NAMES } from "./flags.ts";

const esc = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const labels = (l: Record<string, string>) =>
  `{${Object.entries(l)
    .map(([k, v]) => `${k}="${esc(v)}"`)
    .join(",")}}`;

/**
 * Prometheus text exposition (format 0.0.4) of cumulative series, with Istio's label names.
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
  out.push(
    "# HELP isomesh_requests_total Requests handled, counted once per reporting edge (response_code 0: the caller gave up first).",
    "# TYPE isomesh_requests_total counter",
  );
  for (const s of series) out.push(`isomesh_requests_total${labels(base(s))} ${s.count}`);

  // Istio's name shape (istio_request_duration_milliseconds), so Istio dashboards and queries carry over.
  out.push(
    "# HELP isomesh_request_duration_milliseconds Request duration at the reporting edge, in milliseconds.",
    "# TYPE isomesh_request_duration_milliseconds histogram",
  );
  for (const s of series) {
    let cumulative = 0;
    LATENCY_BUCKETS_MS.forEach((le, i) => {
      cumulative += s.buckets[i] ?? 0;
      out.push(`isomesh_request_duration_milliseconds_bucket${labels({ ...base(s), le: String(le) })} ${cumulative}`);
    });
    out.push(`isomesh_request_duration_milliseconds_bucket${labels({ ...base(s), le: "+Inf" })} ${s.count}`);
    out.push(`isomesh_request_duration_milliseconds_sum${labels(base(s))} ${s.sumMs}`);
    out.push(`isomesh_request_duration_milliseconds_count${labels(base(s))} ${s.count}`);
  }

  out.push("# HELP isomesh_retries_total Retries sent by the reporting edge.", "# TYPE isomesh_retries_total counter");
  for (const s of series) out.push(`isomesh_retries_total${labels(base(s))} ${s.retries}`);

  out.push(
    `# HELP isomesh_request_flags_total Requests by what happened to them (${FLAG_NAMES.join(", ")}).`,
    "# TYPE isomesh_request_flags_total counter",
  );
  for (const s of series)
    for (const [flag, n] of Object.entries(s.flags))
      out.push(
        `isomesh_request_flags_total${labels({ reporter: s.reporter, source_workload: s.source, destination_service: s.destination, destination_version: s.version, ...(s.mirror ? { mirror: "true" } : {}), ...(s.method !== undefined ? { rpc_method: s.method } : {}), flag })} ${n}`,
      );

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
