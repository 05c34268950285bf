import { H, INTERNAL_PREFIX } from "../../shared/headers.ts";
import { serviceBinding, versionBinding } from "../../shared/names.ts";
import type { CompiledBackend, Snapshot } from "../../shared/snapshot/schema.ts";
import { type EdgeEnv, isFetcher } from "./env.ts";
import type { Exchange } from "./exchange.ts";
import { traceparentOf } from "./trace.ts";

/** Sends one try to a backend: the gateway calls service edges, a service edge calls its versions. */
export type Upstream = (x: Exchange, backend: CompiledBackend, body: BodyInit | null, signal: AbortSignal) => Promise<Response>;

/** Resolves every backend binding once per snapshot, so the hot path does a map lookup. */
export function upstreamFor(snapshot: Snapshot, env: EdgeEnv): Upstream {
  const fetchers = new Map<string, Fetcher>();
  for (const name of snapshot.backends) {
    const binding = env[snapshot.role === "gateway" ? serviceBinding(name) : versionBinding(name)];
    if (isFetcher(binding)) fetchers.set(name, binding);
  }
  return (x, backend, body, signal) => {
    const target = snapshot.role === "gateway" ? backend.service : backend.version ?? "";
    const fetcher = fetchers.get(target);
    if (!fetcher) throw new Error(`no binding for backend ${target} on edge ${snapshot.edge}`);
    const headers = new Headers(x.upstreamHeaders);
    headers.set(H.requestId, x.requestId);
    headers.set(H.traceparent, traceparentOf(x.trace));
    if (x.trace.state) headers.set(H.tracestate, x.trace.state);
    if (x.deadlineAt !== undefined) headers.set(H.deadline, String(Math.max(0, Math.floor(x.deadlineAt - Date.now()))));
    // Apps learn who called them (echo reports it); the next edge learns it from its own binding's props.
    if (snapshot.role === "service") headers.set(H.caller, x.caller);
    const sent = fetcher.fetch(x.url.toString(), { method: x.inbound.method, headers, body, signal, redirect: "manual" });
    return snapshot.role === "service" ? sent.then(withoutInternalHeaders) : sent;
  };
}

/** An app cannot speak for the mesh: x-isomesh-* headers in its response are dropped. */
function withoutInternalHeaders(res: Response): Response {
  let internal = false;
  for (const name of res.headers.keys()) if (name.startsWith(INTERNAL_PREFIX)) internal = true;
  if (!internal) return res;
  const clean = new Response(res.body, res);
  for (const name of [...clean.headers.keys()]) if (name.startsWith(INTERNAL_PREFIX)) clean.headers.delete(name);
  return clean;
}
