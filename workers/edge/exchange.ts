import type { DecisionLog } from "../../shared/explain/record.ts";
import type { PreparedRoute } from "../../shared/routing/match.ts";
import type { RequestFacts } from "../../shared/routing/request-facts.ts";
import type { CompiledBackend } from "../../shared/snapshot/schema.ts";
import type { TraceContext } from "./trace.ts";

/**
 * One request crossing one edge. Stages read what earlier stages decided and add their own
 * decision; `upstream` is the request the next hop will receive.
 */
export type Exchange = {
  readonly startedAt: number;
  readonly ctx: ExecutionContext;
  /** Who called this edge: "external" at the gateway, else the binding's props.caller. */
  readonly caller: string;
  /** True when the caller is inside the mesh and may pass identity headers (gateway or another edge). */
  readonly trustedCaller: boolean;
  readonly requestId: string;
  readonly trace: TraceContext;
  /** Absolute time (ms since epoch) after which nobody waits for this request any more. */
  deadlineAt?: number;
  /** The request as received (its headers are the caller's word: no decision reads them). */
  readonly inbound: Request;
  /** The URL and headers the backend will get, which every decision reads (filters change them). */
  url: URL;
  readonly upstreamHeaders: Headers;
  /** What routing reads: the normalized host and path, and `upstreamHeaders`. */
  readonly facts: RequestFacts;
  /** Identity established by authentication (iss/sub): this hop's token, or the gateway's word. */
  principal?: string;
  claims?: Record<string, unknown>;
  route?: PreparedRoute;
  backend?: CompiledBackend;
  attempts: number;
  /** Response headers to add on the way out (ResponseHeaderModifier and friends). */
  readonly responseHooks: ((h: Headers) => void)[];
  /** Flags for access logs and metrics: retried, timed_out, circuit_open, denied, fault, … */
  readonly flags: Set<string>;
  readonly record: DecisionLog;
  /** This request is a RequestMirror's copy the gateway sent (recorded apart from real traffic). */
  readonly mirror?: boolean;
};

export type Next = () => Promise<Response>;

/** One concern of the edge, built once per snapshot; the hot path only runs the closure. */
export type Stage = (x: Exchange, next: Next) => Promise<Response>;
