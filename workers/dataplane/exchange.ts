import type { DecisionLog } from "../../shared/explain/record.ts";
import type { Routing } from "../../shared/routing/match.ts";
import type { RequestFacts } from "../../shared/routing/request-facts.ts";
import type { CompiledBackend } from "../../shared/routing/split.ts";
import type { Identity } from "../../shared/security/identity-headers.ts";
import type { Flag } from "../../shared/telemetry/flags.ts";
import type { TraceContext } from "./trace.ts";

/**
 * One request crossing one edge. Each stage reads what earlier stages decided and may decide
 * something of its own; `url` and `upstreamHeaders` are the request the next hop will receive.
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
  /** The URL and headers the backend will get (filters change them). */
  readonly url: URL;
  readonly upstreamHeaders: Headers;
  /** What every decision reads: the normalized host and path, the client's query, and `upstreamHeaders`. */
  readonly facts: RequestFacts;
  attempts: number;
  /** Response headers to add on the way out (ResponseHeaderModifier and friends). */
  readonly responseHooks: ((h: Headers) => void)[];
  /** What happened to the request, for access logs and metrics (shared/telemetry/flags.ts). */
  readonly flags: Set<Flag>;
  readonly record: DecisionLog;
  /** This request is a RequestMirror's copy the gateway sent (recorded apart from real traffic). */
  readonly mirror?: boolean;
  // What stages decided, as the stages around them (telemetry, respond) report it. A stage that
  // depends on a decision takes the type that carries it (below), never these optional copies.
  readonly identity?: Identity;
  readonly route?: Routing;
  readonly admission?: Admission;
  readonly backend?: CompiledBackend;
};

/** What outlier detection lets a request use: the routing's backends minus the ejected ones; it learns the pick and each try. */
export type Admission = {
  readonly backends: readonly CompiledBackend[];
  picked(backend: CompiledBackend): void;
  tried(backend: CompiledBackend, status: number): void;
};

// The hand-offs that order the pipeline (linkerd2-proxy's Permitted<T>): only the stage that decides
// a thing produces the type carrying it, so a stage placed before what it needs does not compile.
/** Authentication ran: `identity` is the end user, or undefined for an anonymous request. */
export type Authenticated = Exchange & { readonly identity: Identity | undefined };
/** Routing chose where the request goes. */
export type Routed = Authenticated & { readonly route: Routing };
/** Outlier detection said which of the routing's backends may take it. */
export type Admitted = Routed & { readonly admission: Admission };
/** The split picked one. */
export type Picked = Admitted & { readonly backend: CompiledBackend };

type Decisions = { identity: Identity | undefined; route: Routing; admission: Admission; backend: CompiledBackend };

/** Hands a decision on: the same exchange (nothing is copied on the hot path), typed as carrying it. */
export function carry<T extends Exchange, K extends keyof Decisions>(
  x: T,
  key: K,
  value: Decisions[K],
): T & { readonly [P in K]: Decisions[P] } {
  (x as unknown as Decisions)[key] = value;
  return x as T & { readonly [P in K]: Decisions[P] };
}

export type Next<T extends Exchange = Exchange> = (x: T) => Promise<Response>;

/** One concern of the edge, built once per snapshot: it gets what earlier stages decided (`In`) and hands the next stage `Out`. */
export type Stage<In extends Exchange = Exchange, Out extends In = In> = (x: In, next: Next<Out>) => Promise<Response>;

/** A stage that decides nothing later stages depend on: it runs wherever `Needs` is decided and hands the exchange on as it got it. */
export type PassStage<Needs extends Exchange = Exchange> = <T extends Needs>(x: T, next: Next<T>) => Promise<Response>;

/** A stage with nothing to do for this snapshot: left out of the pipeline. */
export const SKIP: PassStage = (x, next) => next(x);
