import { H, INTERNAL_PREFIX } from "../../shared/headers.ts";
import { inboundRefusal } from "../../shared/rpc/outcome.ts";
import type { CompiledBackend } from "../../shared/routing/split.ts";
import type { Snapshot } from "../../shared/snapshot/schema.ts";
import type { ReplayableBody } from "./body.ts";
import type { CallExchange, FetchExchange } from "./exchange.ts";
import { withExplainEntry } from "./explain.ts";
import { type TraceContext, traceparentOf } from "./trace.ts";

export const DEV_GUARD_HEADER = "x-isomesh-dev-guard";

/** How long a hop may hold a request and still pass its caller's deadline header on unchanged (ms). */
const DEADLINE_SLACK_MS = 10;

/**
 * A backend's Worker as the host reaches it (Envoy's cluster: the filters never ask how): a service
 * binding, or, where the callee's outbound half runs in this isolate (the gateway calling an
 * inline service), a client that runs it. Resolved once per snapshot.
 */
export type Target = {
  fetch(input: Request | string, init: RequestInit | undefined, ctx: ExecutionContext): Promise<Response>;
  /** What a Workers RPC method is called on: the Worker's default entrypoint, or a named one. */
  stub(entrypoint: string | undefined): Record<string, unknown> | undefined;
  /**
   * The callee runs its inbound half in its own isolate (inline): it strips what its app answers,
   * sets the caller from its binding's props, and its refusals of an RPC call cross as errors.
   */
  inline?: boolean;
};

/** How a host reaches each backend of a snapshot: by the backend's service (at the gateway or egress) or version. */
export type Reach = (backend: CompiledBackend, snapshot: Snapshot) => Target | undefined;

/** A service binding as a Target (`entrypoint` bindings: the host's names for a version's named entrypoints). */
export const bindingTarget = (
  binding: Fetcher,
  entrypoints: (entrypoint: string) => unknown = () => undefined,
  inline = false,
): Target => ({
  fetch: (input, init) => binding.fetch(input, init),
  stub: (entrypoint) => (entrypoint ? entrypoints(entrypoint) : binding) as Record<string, unknown> | undefined,
  inline,
});

/** Sends one try to a backend; builds the request the next hop gets from what the stages left. */
export type Upstream = {
  fetch(
    x: FetchExchange,
    backend: CompiledBackend,
    body: ReplayableBody,
    signal: AbortSignal | undefined,
  ): Promise<Response>;
  /** A RequestMirror's copy: the request as the backend would get it, marked, with its own trace context. */
  mirror(
    x: FetchExchange,
    backend: CompiledBackend,
    trace: TraceContext,
    body: BodyInit | null,
    signal: AbortSignal,
  ): Promise<Response>;
  call(x: CallExchange, backend: CompiledBackend): Promise<unknown>;
};

/**
 * The upstream of one snapshot. Per hop the request is copied at most once: an unchanged request
 * (the gateway already set everything, as on every north-south call to a service edge) is the very
 * object that arrived; one that needs this hop's own headers (a new request id or span, the time
 * left, the caller for the app) is rebuilt once with them, on the headers a stage already copied if
 * one did.
 */
export function upstreamFor(snapshot: Snapshot, reach: Reach, devGuard?: string): Upstream {
  const role = snapshot.role;
  const targets = new Map<string, Target | undefined>();
  const targetOf = (backend: CompiledBackend): Target => {
    const key = role === "service" ? (backend.version ?? "") : backend.service;
    let t = targets.get(key);
    if (t === undefined && !targets.has(key)) targets.set(key, (t = reach(backend, snapshot)));
    if (!t) throw new Error(`no binding for backend ${key} on edge ${snapshot.edge}`);
    return t;
  };
  const external = role === "egress";
  // isomesh dev only: proves to an app that its edge called it (scripts/lib/entry-guard.ts).
  const guard = role === "service" ? devGuard : undefined;

  /** The headers this hop sets for the next: only those whose value is not already what the next hop must see. */
  const hopHeaders = (x: FetchExchange, target: Target, trace = x.trace): [string, string][] => {
    const h = x.headers;
    const out: [string, string][] = [];
    if (x.requestIdIsNew) out.push([H.requestId, x.requestId]);
    const traceparent = traceparentOf(trace);
    if (traceparent !== trace.forwarded) out.push([H.traceparent, traceparent]);
    // Nothing internal leaves the mesh: no isomesh tracestate entry (the trace context itself does).
    const state = external ? withExplainEntry(trace.state, false) : trace.state;
    if (trace.received !== undefined && (state ?? null) !== trace.received) out.push([H.tracestate, state ?? ""]); // "": removed
    if (external) return out;
    if (x.deadlineAt !== undefined) {
      const now = Date.now();
      // The caller's own header goes on as it came while this hop has only spent the slack on it: the
      // next hop may then be told a few ms more than is left, and this hop's timer still ends it on time.
      const asGiven = x.deadlineFromCaller && now - x.startedAt <= DEADLINE_SLACK_MS;
      const left = String(Math.max(0, Math.floor(x.deadlineAt - now)));
      if (!asGiven && h.get(H.deadline) !== left) out.push([H.deadline, left]);
    }
    // Apps learn who called them (echo reports it); the next edge learns it from its own binding's
    // props, an inline callee from its own (in isomesh dev, where an app with assets loses its props,
    // from this header and the guard's secret).
    if ((!target.inline || guard) && h.get(H.caller) !== (role === "gateway" ? "gateway" : x.caller))
      out.push([H.caller, role === "gateway" ? "gateway" : x.caller]);
    if (guard) out.push([DEV_GUARD_HEADER, guard]);
    return out;
  };

  const send = (
    x: FetchExchange,
    target: Target,
    writes: [string, string][],
    body: BodyInit | null | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Response> => {
    // The request as it arrived, when nothing about it changed but these headers.
    if (body === undefined && !x.headersChanged && !x.urlChanged) {
      if (writes.length === 0) return target.fetch(x.inbound, signal ? { signal } : undefined, x.ctx);
      const request = new Request(x.inbound, signal ? { signal } : undefined);
      write(request.headers, writes);
      return target.fetch(request, undefined, x.ctx);
    }
    const headers = x.ownHeaders();
    write(headers, writes);
    const url = x.urlChanged ? x.url.href : x.href;
    return target.fetch(url, { method: x.method, headers, body: body ?? null, signal, redirect: "manual" }, x.ctx);
  };

  return {
    fetch(x, backend, body, signal) {
      const target = targetOf(backend);
      const sent = send(x, target, hopHeaders(x, target), body.unchanged ? undefined : body.take(), signal);
      return (role === "service" && !target.inline) || external ? sent.then(withoutInternalHeaders) : sent;
    },
    mirror(x, backend, trace, body, signal) {
      const target = targetOf(backend);
      // The copy's own headers (the real request's may be rewritten per try).
      const headers = new Headers(x.headers);
      write(headers, [...hopHeaders(x, target, trace), [H.mirror, "1"]]);
      const url = x.urlChanged ? x.url.href : x.href;
      return target.fetch(url, { method: x.method, headers, body, signal, redirect: "manual" }, x.ctx);
    },
    call(x, backend) {
      const target = targetOf(backend);
      const stub = target.stub(x.entrypoint);
      if (!stub)
        throw new Error(
          `${snapshot.edge} has no binding to ${backend.service}/${backend.version}${x.entrypoint ? ` entrypoint ${x.entrypoint}` : ""}`,
        );
      const invocation = x.invocation;
      const sent =
        "read" in invocation
          ? Promise.resolve(stub[invocation.method])
          : (stub[invocation.method] as (...a: unknown[]) => Promise<unknown>)(...invocation.args);
      // Inline: the callee's isolate authorizes and rate-limits; its refusal is counted with its code's status.
      return target.inline ? Promise.resolve(sent).catch((e: unknown) => Promise.reject(inboundRefusal(e) ?? e)) : sent;
    },
  };
}

/** Sets each header, or removes it when its value is "". */
function write(headers: Headers, writes: [string, string][]): void {
  for (const [name, value] of writes)
    if (value) headers.set(name, value);
    else headers.delete(name);
}

/** An app (or an external host) cannot speak for the mesh: x-isomesh-* headers in its response are dropped. */
export function withoutInternalHeaders(res: Response): Response {
  let internal: string[] | undefined;
  for (const name of res.headers.keys()) if (name.startsWith(INTERNAL_PREFIX)) (internal ??= []).push(name);
  if (!internal || res.status === 101) return res;
  const clean = new Response(res.body, res);
  for (const name of internal) clean.headers.delete(name);
  return clean;
}
