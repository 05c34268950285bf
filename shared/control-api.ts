import { z } from "zod";

/** Which edge runs what: one isolate's report of the snapshot it serves (xDS ACK/NACK). */
export const EdgeReport = z.object({
  edge: z.string(),
  isolate: z.string(),
  /** Beacon version the isolate has caught up with. */
  version: z.number().int(),
  hash: z.string(),
  state: z.enum(["synced", "rejected"]),
  error: z.string().optional(),
});
export type EdgeReport = z.infer<typeof EdgeReport>;

/** Counters and latency histogram of one (reporter, source, destination, version, route, code) series. */
export const MetricSeries = z.object({
  reporter: z.string(),
  source: z.string(),
  destination: z.string(),
  version: z.string(),
  route: z.string(),
  code: z.number().int(),
  count: z.number().int(),
  sumMs: z.number(),
  /** Counts per histogram bucket, aligned with `LATENCY_BUCKETS_MS` (last = +Inf). */
  buckets: z.array(z.number().int()),
  retries: z.number().int().default(0),
  flags: z.record(z.string(), z.number().int()).default({}),
  /** Copies sent by a RequestMirror filter, counted apart from the traffic callers wait for. */
  mirror: z.boolean().optional(),
  /** Workers RPC: the method called (`getRating`, `Admin.reset`); absent on fetch. */
  method: z.string().max(260).optional(),
});
export type MetricSeries = z.infer<typeof MetricSeries>;

/** A span, as edges export them (also the source of OTLP export). */
export const Span = z.object({
  traceId: z.string(),
  spanId: z.string(),
  parentSpanId: z.string().optional(),
  service: z.string(),
  edge: z.string(),
  name: z.string(),
  startMs: z.number(),
  durationMs: z.number(),
  status: z.number().int(),
  attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
});
export type Span = z.infer<typeof Span>;

/** What one edge decided about one request (see shared/explain/record.ts). */
export const HopRecord = z.object({
  id: z.string(),
  traceId: z.string(),
  spanId: z.string(),
  parentSpanId: z.string().optional(),
  edge: z.string(),
  caller: z.string(),
  method: z.string(),
  url: z.string(),
  at: z.number(),
  status: z.number().int().optional(),
  durationMs: z.number().optional(),
  decisions: z.array(z.object({ stage: z.string(), decision: z.string() }).catchall(z.unknown())),
  /** An inline service's inbound half, recorded in the callee's isolate under its caller's span (explain joins the two). */
  half: z.literal("inbound").optional(),
});

export const TelemetryBatch = z.object({
  report: EdgeReport,
  /** An isolate running inline stages holds several edges' snapshots: their reports beside the first. */
  reports: z.array(EdgeReport).max(256).optional(),
  windowStart: z.number(),
  series: z.array(MetricSeries).default([]),
  spans: z.array(Span).default([]),
  explains: z.array(HopRecord).default([]),
});
export type TelemetryBatch = z.infer<typeof TelemetryBatch>;

/**
 * Who holds a CONTROL binding: the props `isomesh gen` gives it (set at deploy time, unforgeable),
 * from which the control plane knows what the holder may report and read. An edge Worker names its
 * edge; an app version's Worker that runs inline stages names its service and version.
 */
export const ControlCaller = z.union([
  z.strictObject({ edge: z.string() }),
  z.strictObject({ service: z.string(), version: z.string() }),
]);
export type ControlCaller = z.infer<typeof ControlCaller>;

/** The control plane's answer to a report: how often this isolate should flush from now on (shared/telemetry/pacing.ts). */
export type ReportAnswer = { flushIntervalMs: number };

/** What edges call on the control worker through their CONTROL service binding (RPC). */
export interface MeshControlApi extends Rpc.WorkerEntrypointBranded {
  /** The version beacon, signed (a compact JWS of shared/snapshot/signature.ts's BeaconClaims). */
  beacon(): Promise<string>;
  /** A snapshot KV does not have yet (eventual consistency), or not intact: the body for edge and hash ("": the current one). */
  snapshot(edge: string, hash: string): Promise<string | null>;
  report(batch: TelemetryBatch): Promise<ReportAnswer>;
  /** Whether a debug token (x-isomesh-debug) belongs to an operator (viewer or editor). */
  verifyDebugToken(token: string): Promise<boolean>;
}

/** A RateLimiter Durable Object: one shard of the global limits' fixed-window counters (many keys). */
export interface RateLimiterApi extends Rpc.DurableObjectBranded {
  take(key: string, limit: number, periodMs: number): Promise<{ ok: boolean; retryAfterMs: number }>;
}
