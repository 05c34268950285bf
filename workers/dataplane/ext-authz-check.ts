import { H } from "../../shared/headers.ts";
import {
  type CompiledExtAuthzProvider,
  checkHeaders,
  deniedHeaderPasses,
  headerListed,
} from "../../shared/security/ext-authz.ts";
import type { CallExchange, FetchExchange } from "./exchange.ts";
import type { Target } from "./upstream.ts";

/** What the provider said: allow (with what it adds), deny (its answer, for the client), or nothing usable. */
export type CheckOutcome =
  | { allowed: true; status: number; upstream: [string, string][]; downstream: [string, string][] }
  | { allowed: false; status: number; answer: Response }
  | { failed: string };

/** Envoy's header on a check that carries the body: whether it is cut at maxRequestBytes. */
const PARTIAL_BODY = "x-envoy-auth-partial-body";

/** The first `limit` bytes of a request's body, read from a copy: the request keeps its whole body for the upstream. */
export async function bodyPrefix(request: Request, limit: number): Promise<{ bytes: Uint8Array; cut: boolean }> {
  const declared = Number(request.headers.get("content-length") ?? NaN);
  const reader = request.clone().body!.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let cut = declared > limit;
  while (size <= limit) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  if (size > limit) cut = true;
  reader.cancel().catch(() => {}); // the copy's rest is not read; the original's branch keeps it
  const bytes = new Uint8Array(Math.min(size, limit));
  let at = 0;
  for (const c of chunks) {
    const part = c.subarray(0, bytes.byteLength - at);
    bytes.set(part, at);
    at += part.byteLength;
    if (at === bytes.byteLength) break;
  }
  return { bytes, cut };
}

/**
 * The check (Envoy's ext_authz, HTTP mode): the request's method, the provider's pathPrefix and the
 * request's path and query, its host, the headers the provider lists, and the body when asked
 * (`body`); for a Workers RPC call, POST /<method> (gRPC's shape through Envoy) with no headers.
 * Sent through the provider's binding as any mesh call, within the provider's timeout.
 */
export async function askProvider(
  x: FetchExchange | CallExchange,
  service: string,
  p: CompiledExtAuthzProvider,
  target: Target | undefined,
  body: { bytes: Uint8Array; cut: boolean } | undefined,
): Promise<CheckOutcome> {
  if (!target) return { failed: `no binding to the provider's service ${p.service}` };
  const headers = x.kind === "fetch" ? checkHeaders(p, x.headers) : new Headers();
  if (x.kind === "fetch") headers.set("host", x.host); // Envoy's check carries the request's :authority
  headers.set(H.requestId, x.requestId);
  headers.set(H.deadline, String(p.timeoutMs));
  if (body) headers.set(PARTIAL_BODY, String(body.cut));
  const url =
    x.kind === "fetch"
      ? `https://${x.host}${p.pathPrefix}${x.path}${x.search}`
      : `https://${service}${p.pathPrefix}/${x.call.fullName}`;
  const method = x.kind === "fetch" ? x.method : "POST";
  // The timer ends the wait whatever the binding does with the signal (it also cancels the call).
  const abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const e = new Error(`timeout: no answer in ${p.timeoutMs}ms`);
      abort.abort(e);
      reject(e);
    }, p.timeoutMs);
  });
  let res: Response;
  try {
    const sent = target.fetch(
      url,
      { method, headers, body: body?.bytes ?? null, signal: abort.signal, redirect: "manual" },
      x.ctx,
    );
    res = await Promise.race([sent, late]);
  } catch (e) {
    return { failed: abort.signal.aborted ? `timeout: no answer in ${p.timeoutMs}ms` : String(e) };
  } finally {
    clearTimeout(timer);
  }
  // The provider's edge answered for it (the provider's Worker failed, timed out, or refused this caller).
  const meshError = res.headers.get(H.error);
  if (meshError !== null) {
    res.body?.cancel().catch(() => {});
    return { failed: `the provider's edge answered ${res.status} ${meshError}` };
  }
  if (res.status >= 200 && res.status < 300) {
    res.body?.cancel().catch(() => {});
    return { allowed: true, status: res.status, ...allowedHeaders(p, res.headers) };
  }
  return { allowed: false, status: res.status, answer: denial(p, res) };
}

function allowedHeaders(p: CompiledExtAuthzProvider, h: Headers) {
  const upstream: [string, string][] = [];
  const downstream: [string, string][] = [];
  if (p.upstreamOnAllow.length)
    for (const [name, value] of h)
      if (name !== "set-cookie" && headerListed(p.upstreamOnAllow, name)) upstream.push([name, value]);
  if (p.downstreamOnAllow.length) {
    for (const [name, value] of h)
      if (name !== "set-cookie" && !name.startsWith("x-isomesh-") && headerListed(p.downstreamOnAllow, name))
        downstream.push([name, value]);
    if (headerListed(p.downstreamOnAllow, "set-cookie"))
      for (const c of h.getSetCookie()) downstream.push(["set-cookie", c]);
  }
  return { upstream, downstream };
}

/** The provider's denial as the client gets it: its status and body, and the headers it may pass on. */
function denial(p: CompiledExtAuthzProvider, res: Response): Response {
  const headers = new Headers();
  for (const [name, value] of res.headers)
    if (name !== "set-cookie" && deniedHeaderPasses(p, name)) headers.set(name, value);
  if (deniedHeaderPasses(p, "set-cookie")) for (const c of res.headers.getSetCookie()) headers.append("set-cookie", c);
  // Not the mesh's request id: the client's own, which the respond stage sets.
  headers.delete(H.requestId);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}
