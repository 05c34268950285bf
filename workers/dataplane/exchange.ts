import type { DecisionLog } from "../../shared/explain/record.ts";
import type { Routing } from "../../shared/routing/match.ts";
import type { CompiledBackend } from "../../shared/routing/split.ts";
import type { RpcTarget } from "../../shared/rpc/match.ts";
import type { Identity } from "../../shared/security/identity-headers.ts";
import type { Flag } from "../../shared/telemetry/flags.ts";
import type { RpcInvocation } from "./rpc/invocation.ts";
import type { TraceContext } from "./trace.ts";

/** What every hop knows of its request, whatever its shape, and what the stages decided about it. */
abstract class Hop {
  /** Absolute time (ms since epoch) after which nobody waits for this request any more. */
  deadlineAt: number | undefined = undefined;
  attempts = 0;
  /** What happened to the request, for access logs and metrics (shared/telemetry/flags.ts). */
  readonly flags = new Set<Flag>();
  /**
   * Cancels the try under way (forward sets it while a try runs): the caller gave up, so nobody
   * waits for the backend either (Envoy resets the upstream on a downstream disconnect).
   */
  cancelTry: (() => void) | undefined = undefined;
  /** The caller gave up before this hop answered (its telemetry stage saw the abort). */
  callerGone = false;
  /** Told when the caller gives up: an in-isolate caller's promise settles then, as a binding's fetch would. */
  onGone: (() => void) | undefined = undefined;
  // What stages decided, as the stages around them (telemetry, respond) report it. A stage that
  // depends on a decision takes the type that carries it (below), never these optional copies.
  identity?: Identity = undefined;
  route?: Routing = undefined;
  admission?: Admission = undefined;
  backend?: CompiledBackend = undefined;

  constructor(
    readonly startedAt: number,
    readonly ctx: ExecutionContext,
    /** Who called: "external" at the gateway, else the binding's props.caller. */
    readonly caller: string,
    /** The caller is inside the mesh and may pass identity headers (the gateway). */
    readonly trustedCaller: boolean,
    readonly trace: TraceContext,
    readonly record: DecisionLog,
  ) {}

  /** This request's id: the caller's x-request-id, or one made here. */
  abstract get requestId(): string;
}

/**
 * One fetch crossing one hop. The request is read where it arrived and written only when the mesh
 * must change it: `headers` is the inbound request's own Headers until a stage writes one
 * (`ownHeaders()` copies them once, the hop's only copy), and an unchanged request is forwarded as
 * the very object that arrived. What every decision reads (RequestFacts) is the exchange itself:
 * the normalized host and path, the client's query, and `headers` as the mesh has rewritten them.
 */
export class FetchExchange extends Hop {
  readonly kind = "fetch";
  /** The headers the next hop gets, as the mesh has rewritten them so far (decisions read these). */
  headers: Headers;
  /** The normalized path (no query): what policies and routes judge, and the backend receives. */
  path: string;
  /** Response header edits to make on the way out (ResponseHeaderModifier and friends). */
  responseHooks: ((h: Headers) => void)[] | undefined = undefined;
  private ownsHeaders = false;
  private parsedUrl: URL | undefined = undefined;
  private clientQuery: URLSearchParams | undefined = undefined;
  private generatedId: string | undefined = undefined;

  constructor(
    startedAt: number,
    ctx: ExecutionContext,
    caller: string,
    trustedCaller: boolean,
    trace: TraceContext,
    record: DecisionLog,
    /** The request as it arrived. */
    readonly inbound: Request,
    /** Its URL as it arrived (a string: parsed only when a stage changes it). */
    readonly href: string,
    readonly method: string,
    /** The normalized host (shared/routing/host.ts) every decision reads. */
    readonly host: string,
    path: string,
    /** The query as the client sent it, with its `?` ("" for none): decisions read this, never the rewritten URL's. */
    readonly search: string,
    /** A RequestMirror's copy the gateway sent (recorded apart from real traffic). */
    readonly mirror: boolean,
    private readonly knownRequestId: string | null,
  ) {
    super(startedAt, ctx, caller, trustedCaller, trace, record);
    this.headers = inbound.headers;
    this.path = path;
  }

  get requestId(): string {
    return this.knownRequestId || (this.generatedId ??= crypto.randomUUID());
  }

  /** Whether this hop made up the request id (the next hop must be told it). */
  get requestIdIsNew(): boolean {
    return !this.knownRequestId;
  }

  /** The headers, writable: copied from the inbound request on the first write, once per hop. */
  ownHeaders(): Headers {
    if (!this.ownsHeaders) {
      this.headers = new Headers(this.headers);
      this.ownsHeaders = true;
    }
    return this.headers;
  }

  /** Whether a stage wrote a header (the next hop then gets them rather than the inbound request's). */
  get headersChanged(): boolean {
    return this.ownsHeaders;
  }

  /** The URL the backend gets, parsed on first use (filters, a normalized path, the egress edge). */
  get url(): URL {
    return (this.parsedUrl ??= new URL(this.href));
  }

  /** Whether the backend's URL is no longer the one that arrived. */
  get urlChanged(): boolean {
    return this.parsedUrl !== undefined && this.parsedUrl.href !== this.href;
  }

  /** The client's query, parsed only if a decision reads it (few routes match on it). */
  get query(): URLSearchParams {
    return (this.clientQuery ??= new URLSearchParams(this.search));
  }

  /** Queues a response header edit for the way out. */
  onResponse(hook: (h: Headers) => void): void {
    (this.responseHooks ??= []).push(hook);
  }
}

/** One Workers RPC call crossing one hop: a method call (or a property read) with its arguments. */
export class CallExchange extends Hop {
  readonly kind = "rpc";
  readonly mirror = false;
  /** A call carries no token: it is anonymous to every stage after authentication (which it skips). */
  declare identity: undefined;
  private id: string | undefined = undefined;

  constructor(
    startedAt: number,
    ctx: ExecutionContext,
    caller: string,
    trace: TraceContext,
    record: DecisionLog,
    readonly invocation: RpcInvocation,
    /** (entrypoint, method): what routes, policies and metrics name. */
    readonly call: RpcTarget,
    /** The callee's named entrypoint the caller's binding is for (props), if not the default. */
    readonly entrypoint: string | undefined,
  ) {
    super(startedAt, ctx, caller, false, trace, record);
  }

  get requestId(): string {
    return (this.id ??= crypto.randomUUID());
  }

  get args(): readonly unknown[] {
    return "args" in this.invocation ? this.invocation.args : NO_ARGS;
  }
}
const NO_ARGS: readonly unknown[] = [];

/** A request crossing a hop: a fetch or a Workers RPC call. Stages that apply to both read `kind` where they differ. */
export type Exchange = FetchExchange | CallExchange;

/** What outlier detection lets a request use: the routing's backends minus the ejected ones; it learns the pick and each try. */
export type Admission = {
  readonly backends: readonly CompiledBackend[];
  picked(backend: CompiledBackend): void;
  tried(backend: CompiledBackend, status: number): void;
};

// The hand-offs that order the pipeline (linkerd2-proxy's Permitted<T>): only the stage that decides
// a thing produces the type carrying it, so a stage placed before what it needs does not compile.
/** Authentication ran: `identity` is the end user, or undefined for an anonymous request. */
export type Authenticated<X extends Exchange = Exchange> = X & { readonly identity: Identity | undefined };
/** Routing chose where the request goes. */
export type Routed<X extends Exchange = Exchange> = Authenticated<X> & { readonly route: Routing };
/** Outlier detection said which of the routing's backends may take it. */
export type Admitted<X extends Exchange = Exchange> = Routed<X> & { readonly admission: Admission };
/** The split picked one. */
export type Picked<X extends Exchange = Exchange> = Admitted<X> & { readonly backend: CompiledBackend };

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

/**
 * What a pipeline answers: a fetch's Response, or what an RPC method returned (`Called`). A refusal
 * is a MeshError: the fetch pipeline's errors stage turns it into the mesh's JSON answer; a call's
 * refusal is thrown to its host, which gives the caller the mesh's Error (shared/rpc/outcome.ts).
 */
export type Called = { readonly value: unknown };

export type Next<T, R> = (x: T) => Promise<R>;

/**
 * One concern of the data plane, built once per snapshot: it gets what earlier stages decided
 * (`In`), hands the next stage `Out`, and answers `R` (a Response, or a Called for an RPC call).
 * Stage factories are generic in the exchange they are given and what the pipeline answers, so one
 * body serves fetches and calls alike (linkerd2-proxy's layers are generic over the request type
 * the same way); the chain (chain.ts) instantiates them where they are placed.
 */
export type Stage<In, Out, R> = (x: In, next: Next<Out, R>) => Promise<R>;

/** A stage with nothing to do for this snapshot: left out of the pipeline. */
export const SKIP = <T, R>(x: T, next: Next<T, R>): Promise<R> => next(x);
export const skip = <T, R>(): Stage<T, T, R> => SKIP;
