import { Hono } from "hono";
import type { MetricSeries } from "../../../shared/control-api.ts";
import { Topology } from "../../../shared/manifest/topology.ts";
import { golden, goldenBy, reportedByServiceEdge } from "../../../shared/telemetry/aggregate.ts";
import { serviceGraph } from "../../../shared/telemetry/graph.ts";
import { timeline } from "../../../shared/telemetry/timeline.ts";
import { prometheusText } from "../../../shared/telemetry/prometheus.ts";
import type { ControlEnv } from "../env.ts";
import { EGRESS, GATEWAY } from "../../../shared/names.ts";
import { configStore, mirrorStore, shardsOf, telemetryOf, traceStore } from "../objects.ts";
import { requireRole } from "./auth.ts";
import { type AppEnv, apiError } from "./context.ts";

/** Metrics, golden signals, the service graph and traces, from the Telemetry Durable Objects. */
export const observeRoutes = new Hono<AppEnv>();

const WINDOWS: Record<string, number> = { "1m": 60, "5m": 300, "15m": 900, "1h": 3600 };

const topologyOf = (env: ControlEnv) => Topology.parse(JSON.parse(env.TOPOLOGY));

async function seriesSince(env: ControlEnv, sinceMs: number): Promise<MetricSeries[]> {
  const all = await Promise.all(shardsOf(topologyOf(env)).map((shard) => telemetryOf(env, shard).query(sinceMs)));
  return all.flat();
}

/** The RequestMirror copies, marked as such (their object stores them without the mark). */
const mirrored = (series: MetricSeries[]): MetricSeries[] => series.map((s) => ({ ...s, mirror: true }));

function windowOf(q: string | undefined): { label: string; seconds: number } | undefined {
  const label = q ?? "1m";
  return WINDOWS[label] ? { label, seconds: WINDOWS[label] } : undefined;
}

observeRoutes.get("/metrics", requireRole("viewer"), async (c) => {
  const env = c.env;
  const [totals, mirrors, status] = await Promise.all([
    Promise.all(shardsOf(topologyOf(env)).map((shard) => telemetryOf(env, shard).totals())),
    mirrorStore(env).totals(),
    configStore(env).status(),
  ]);
  return c.body(prometheusText([...totals.flat(), ...mirrored(mirrors)], status.edges, status.version), 200, {
    "content-type": "text/plain; version=0.0.4; charset=utf-8",
  });
});

observeRoutes.get("/v1/stats", requireRole("viewer"), async (c) => {
  const w = windowOf(c.req.query("window"));
  if (!w) return c.json(apiError("invalid", `window must be one of ${Object.keys(WINDOWS).join(", ")}`), 400);
  const only = c.req.query("service");
  const since = Date.now() - w.seconds * 1000;
  const [all, copies] = await Promise.all([seriesSince(c.env, since), mirrorStore(c.env).query(since)]);
  const series = all.filter(reportedByServiceEdge).filter((s) => !only || s.destination === only);
  // Calls out, as the egress edge saw them: per ExternalService ("unregistered" = denied hosts), per caller.
  const outbound = all.filter((s) => s.reporter === EGRESS);
  const externals = only
    ? []
    : [...goldenBy(outbound, (s) => s.destination, w.seconds)].map(([name, g]) => ({
        name,
        ...g,
        callers: [
          ...goldenBy(
            outbound.filter((s) => s.destination === name),
            (s) => s.source,
            w.seconds,
          ),
        ].map(([caller, cg]) => ({ caller, ...cg })),
      }));
  const services = topologyOf(c.env)
    .services.filter((svc) => !only || svc.name === only)
    .map((svc) => {
      const mine = series.filter((s) => s.destination === svc.name);
      const byVersion = goldenBy(mine, (s) => s.version, w.seconds);
      const byRoute = goldenBy(mine, (s) => s.route, w.seconds);
      return {
        service: svc.name,
        // With no traffic: 0 requests and rps, null rates and latencies (never a missing field).
        ...golden(mine, w.seconds),
        versions: svc.versions.map((v) => ({ version: v, ...(byVersion.get(v) ?? golden([], w.seconds)) })),
        // RequestMirror copies that reached each version (as its edge recorded them), apart from the traffic above.
        mirrored: [
          ...goldenBy(
            copies.filter((s) => s.destination === svc.name && s.reporter === `${svc.name}-edge`),
            (s) => s.version,
            w.seconds,
          ),
        ].map(([version, g]) => ({ version, ...g })),
        routes: [...byRoute].map(([route, g]) => ({ route, ...g })),
      };
    });
  // What arrived from outside, as the gateway counted it: refusals before any service was chosen
  // (404 no_route, 401, 403, 429 at the gateway: destination "unknown") are in no service's figures.
  const ingress = only ? [] : all.filter((s) => s.reporter === GATEWAY && !s.mirror);
  const gateway = only
    ? undefined
    : {
        ...golden(ingress, w.seconds),
        refused: ingress
          .filter((s) => !services.some((x) => x.service === s.destination))
          .reduce((n, s) => n + s.count, 0),
      };
  return c.json({
    window: w.label,
    at: new Date().toISOString(),
    ...(gateway ? { gateway } : {}),
    services,
    externals,
  });
});

// The Telemetry DO keeps 10 s windows: the finest step a history can have.
const HISTORY_STEP_MS = 10_000;

/** A short history per service (a point per 10 s), so sparklines have a past the moment they are drawn. */
observeRoutes.get("/v1/stats/history", requireRole("viewer"), async (c) => {
  const w = windowOf(c.req.query("window") ?? "5m");
  if (!w) return c.json(apiError("invalid", `window must be one of ${Object.keys(WINDOWS).join(", ")}`), 400);
  const now = Date.now();
  const since = now - w.seconds * 1000;
  const topology = topologyOf(c.env);
  const all = (await Promise.all(shardsOf(topology).map((shard) => telemetryOf(c.env, shard).query(since)))).flat();
  const rows = all.filter(reportedByServiceEdge);
  const names = topology.services.map((s) => s.name);
  const points = timeline(rows, (s) => s.destination, names, since, now, HISTORY_STEP_MS);
  // The gateway's own line: what arrived from outside, refusals included (see /v1/stats' gateway).
  const ingress = all.filter((s) => s.reporter === GATEWAY && !s.mirror);
  const gateway = timeline(ingress, () => GATEWAY, [GATEWAY], since, now, HISTORY_STEP_MS).get(GATEWAY) ?? [];
  return c.json({
    window: w.label,
    stepSeconds: HISTORY_STEP_MS / 1000,
    at: new Date(now).toISOString(),
    gateway: { points: gateway },
    services: names.map((service) => ({ service, points: points.get(service) ?? [] })),
  });
});

observeRoutes.get("/v1/graph", requireRole("viewer"), async (c) => {
  const w = windowOf(c.req.query("window") ?? "5m");
  if (!w) return c.json(apiError("invalid", `window must be one of ${Object.keys(WINDOWS).join(", ")}`), 400);
  const series = await seriesSince(c.env, Date.now() - w.seconds * 1000);
  return c.json({ window: w.label, ...serviceGraph(series, topologyOf(c.env).services, w.seconds) });
});

observeRoutes.get("/v1/traces", requireRole("viewer"), async (c) => {
  const limit = Math.min(200, Number(c.req.query("limit") ?? 50) || 50);
  const traces = await traceStore(c.env).recentTraces(limit);
  return c.json({
    traces: traces.map((t) => ({
      traceId: t.traceId,
      at: new Date(t.at).toISOString(),
      spans: t.spans,
      root: t.root?.service ?? null,
      name: t.root?.name ?? null,
      durationMs: t.root?.durationMs ?? null,
      status: t.root?.status ?? null,
    })),
  });
});

observeRoutes.get("/v1/traces/:traceId", requireRole("viewer"), async (c) => {
  const traceId = c.req.param("traceId");
  if (!/^[0-9a-f]{32}$/.test(traceId)) return c.json(apiError("invalid", "a trace id is 32 hex digits"), 400);
  const spans = await traceStore(c.env).trace(traceId);
  if (spans.length === 0) return c.json(apiError("not_found", `no spans for trace ${traceId}`), 404);
  return c.json({ traceId, spans });
});
