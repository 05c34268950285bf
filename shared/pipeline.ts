import type { Role } from "./snapshot/schema.ts";

/**
 * Where a stage runs in the inline data plane (DESIGN §1): in the callee's isolate before its
 * handler (`inbound`), in the caller's isolate around its call (`outbound`), or in both.
 */
export type Half = "inbound" | "outbound" | "both";

/** Every stage of the edge, with its half. Edge mode runs them all, in the order below. */
export const STAGES = {
  telemetry: "inbound",
  respond: "both",
  errors: "both",
  normalize: "both",
  /** A rule's CORS filter: answers preflights before authentication (the route is matched for it). */
  cors: "outbound",
  authn: "inbound",
  /** CUSTOM AuthorizationPolicies: the provider is asked before DENY and ALLOW are judged (Istio's order). */
  extAuthz: "inbound",
  authz: "inbound",
  route: "outbound",
  egress: "outbound",
  filters: "outbound",
  fault: "outbound",
  ratelimit: "inbound",
  outlier: "outbound",
  split: "outbound",
  backendFilters: "outbound",
  mirror: "outbound",
  concurrency: "outbound",
  forward: "outbound",
  /** Inline only: the caller's isolate takes the identity the gateway verified (no token is judged there). */
  identity: "outbound",
  /** Inline only: the app's own handler, called as a function after the inbound stages. */
  app: "inbound",
} as const satisfies Record<string, Half>;

export type StageName = keyof typeof STAGES;

const EDGE = [
  "telemetry",
  "respond",
  "errors",
  "normalize",
  "cors",
  "authn",
  "extAuthz",
  "authz",
  "route",
  "filters",
  "fault",
  "ratelimit",
  "outlier",
  "split",
  "backendFilters",
  "mirror",
  "concurrency",
  "forward",
] as const;

/**
 * The pipeline of each kind of edge, in order: the one list the edge assembles its stages from
 * (workers/dataplane/pipelines.ts, checked by the compiler) and synthetic explain walks
 * (shared/explain/synthetic.ts), so the two cannot disagree. The egress edge checks its allow-list
 * (the `egress` stage routes by ExternalService host) before authorization, and has no filters or mirrors.
 * A backendRef's own filters run once the split has picked it, after the rule's, and before the
 * mirrors, which copy the request as the picked backend gets it (as Envoy's shadows do).
 */
export const PIPELINES = {
  gateway: EDGE,
  service: EDGE,
  egress: [
    "telemetry",
    "respond",
    "errors",
    "normalize",
    "authn",
    "egress",
    "authz",
    "fault",
    "ratelimit",
    "outlier",
    "split",
    "concurrency",
    "forward",
  ],
} as const satisfies Record<Role, readonly StageName[]>;

/**
 * The inline data plane's two halves (docs/data-plane.md), as Envoy splits outbound and inbound
 * listeners. `outbound` runs in the caller's isolate (an app, or the gateway) around its call to an
 * inline service, with that service's snapshot: the same stages as its edge, except that tokens
 * are judged, policies enforced and rate limits counted only where the callee can trust them, in
 * its own isolate (`inbound`, before the app's handler). The caller's code could reach the
 * version's binding without the client, so nothing the caller's isolate decides is believed by
 * the callee but the identity props of that binding (and, from the gateway, its identity headers).
 */
export const INLINE_PIPELINES = {
  outbound: [
    "telemetry",
    "respond",
    "errors",
    "normalize",
    "cors",
    "identity",
    "route",
    "filters",
    "fault",
    "outlier",
    "split",
    "backendFilters",
    "mirror",
    "concurrency",
    "forward",
  ],
  inbound: ["errors", "normalize", "authn", "extAuthz", "authz", "ratelimit", "app"],
} as const satisfies Record<"outbound" | "inbound", readonly StageName[]>;

/**
 * A Workers RPC call's path through a service edge (workers/dataplane/pipelines.ts; synthetic explain
 * walks it too): the stages of a fetch that apply to a call, which has no URL, headers, body or
 * token (so no normalize, authn, filters or mirror), with the same decisions.
 */
export const RPC_PIPELINE = [
  "telemetry",
  "extAuthz",
  "authz",
  "route",
  "fault",
  "ratelimit",
  "outlier",
  "split",
  "concurrency",
  "forward",
] as const satisfies readonly StageName[];
export type RpcStageName = (typeof RPC_PIPELINE)[number];

/** The inline data plane's halves of a Workers RPC call (RPC_PIPELINE split as INLINE_PIPELINES splits a fetch's). */
export const RPC_INLINE_PIPELINES = {
  outbound: ["telemetry", "route", "fault", "outlier", "split", "concurrency", "forward"],
  inbound: ["extAuthz", "authz", "ratelimit", "app"],
} as const satisfies Record<"outbound" | "inbound", readonly StageName[]>;
