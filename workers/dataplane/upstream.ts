import { H, INTERNAL_PREFIX } from "../../shared/headers.ts";
import { serviceBinding, versionBinding } from "../../shared/names.ts";
import type { CompiledBackend } from "../../shared/routing/split.ts";
import type { Snapshot } from "../../shared/snapshot/schema.ts";
import { type EdgeEnv, isFetcher } from "./env.ts";
import type { Exchange } from "./exchange.ts";
import { type InlineClient, isInlineClient } from "../edge/inline-callees.ts";
import { traceparentOf } from "./trace.ts";
import { withExplainEntry } from "./debug.ts";

export const DEV_GUARD_HEADER = "x-isomesh-dev-guard";

/** Sends one try to a backend: the gateway calls service edges, a service edge calls its versions. */
export type Upstream = (
  x: Exchange,
  backend: CompiledBackend,
  body: BodyInit | null,
  signal: AbortSignal | undefined,
) => Promise<Response>;

/** Resolves every backend binding once per snapshot, so the hot path does a map lookup. */
export function upstreamFor(snapshot: Snapshot, env: EdgeEnv, o: { inlineCallee?: boolean } = {}): Upstream {
  if (snapshot.role === "egress") return externalUpstream(snapshot, env);
  const fetchers = new Map<string, Fetcher>();
  const inlines = new Map<string, InlineClient>();
  // isomesh dev only: proves to an app that its edge called it (scripts/lib/entry-guard.ts).
  const devGuard = snapshot.role === "service" && typeof env.DEV_APP_GUARD === "string" ? env.DEV_APP_GUARD : undefined;
  for (const name of snapshot.backends) {
    const binding = env[snapshot.role === "gateway" ? serviceBinding(name) : versionBinding(name)];
    if (isInlineClient(binding)) inlines.set(name, binding);
    else if (isFetcher(binding)) fetchers.set(name, binding);
  }
  return (x, backend, body, signal) => {
    const target = snapshot.role === "gateway" ? backend.service : (backend.version ?? "");
    const fetcher = fetchers.get(target);
    const inline = fetcher ? undefined : inlines.get(target);
    if (!fetcher && !inline) throw new Error(`no binding for backend ${target} on edge ${snapshot.edge}`);
    // x.upstreamHeaders is already this exchange's own copy, and fetch copies it again when the
    // request is made: set the per-try headers in place rather than copying once more.
    const headers = x.upstreamHeaders;
    headers.set(H.requestId, x.requestId);
    headers.set(H.traceparent, traceparentOf(x.trace));
    if (x.trace.state) headers.set(H.tracestate, x.trace.state);
    if (x.deadlineAt !== undefined) headers.set(H.deadline, String(Math.max(0, Math.floor(x.deadlineAt - Date.now()))));
    // Apps learn who called them (echo reports it); the next edge learns it from its own binding's props.
    if (snapshot.role === "service") headers.set(H.caller, x.caller);
    if (devGuard) headers.set(DEV_GUARD_HEADER, devGuard);
    const init: RequestInit = { method: x.inbound.method, headers, body, signal, redirect: "manual" };
    // An inline service's outbound half runs here, in this isolate, then calls its version directly.
    const sent = inline
      ? inline.inline(x.ctx, new Request(x.url.toString(), init))
      : fetcher!.fetch(x.url.toString(), init);
    return snapshot.role === "service" && !o.inlineCallee ? sent.then(withoutInternalHeaders) : sent;
  };
}

/**
 * The egress edge calls the outside world: through the ExternalService's client-certificate binding
 * (wrangler `mtls_certificates`) when it names one, else the global fetch. Nothing internal leaves
 * the mesh: no x-isomesh-* header, no isomesh tracestate entry; trace context and request id do.
 */
function externalUpstream(snapshot: Snapshot, env: EdgeEnv): Upstream {
  // Per ExternalService: the certificate binding to send through, or a reason it is missing.
  const viaCertificate = new Map<string, Fetcher | string>();
  for (const e of snapshot.externals ?? []) {
    if (!e.clientCertificate) continue;
    const binding = env[e.clientCertificate];
    viaCertificate.set(
      e.name,
      isFetcher(binding) ? binding : `no mtls_certificates binding ${e.clientCertificate} on edge ${snapshot.edge}`,
    );
  }
  return (x, backend, body, signal) => {
    const certificate = viaCertificate.get(backend.service);
    if (typeof certificate === "string") throw new Error(certificate);
    const headers = x.upstreamHeaders;
    headers.set(H.requestId, x.requestId);
    headers.set(H.traceparent, traceparentOf(x.trace));
    const state = withExplainEntry(x.trace.state, false);
    if (state) headers.set(H.tracestate, state);
    else headers.delete(H.tracestate);
    const init: RequestInit = { method: x.inbound.method, headers, body, signal, redirect: "manual" };
    const sent = certificate ? certificate.fetch(x.url.toString(), init) : fetch(x.url.toString(), init);
    return sent.then(withoutInternalHeaders);
  };
}

/** An app (or an external host) cannot speak for the mesh: x-isomesh-* headers in its response are dropped. */
function withoutInternalHeaders(res: Response): Response {
  let internal = false;
  for (const name of res.headers.keys()) if (name.startsWith(INTERNAL_PREFIX)) internal = true;
  if (!internal) return res;
  const clean = new Response(res.body, res);
  for (const name of [...clean.headers.keys()]) if (name.startsWith(INTERNAL_PREFIX)) clean.headers.delete(name);
  return clean;
}
