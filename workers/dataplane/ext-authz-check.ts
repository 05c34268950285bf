import { H, INTERNAL_PREFIX } from "../../shared/headers.ts";
import { type CompiledExtAuthzProvider, deniedHeaderPasses, headerListed } from "../../shared/security/ext-authz.ts";
import { concat, readUpTo } from "./body.ts";
import type { CallExchange, FetchExchange } from "./exchange.ts";
import type { Target } from "./upstream.ts";

/** What the provider said: allow (with the headers it sets upstream and downstream), deny (its answer, for the client), or nothing usable. */
export type CheckOutcome =
  | { status: number; upstream: [string, string][]; downstream: [string, string][]; answer?: undefined }
  | { status: number; answer: Response }
  | { failed: string };

/** The first `limit` bytes of a request's body, read from a copy (the request keeps all of it for the upstream); `cut`: it had more. */
export async function bodyPrefix(request: Request, limit: number): Promise<{ bytes: Uint8Array; cut: boolean }> {
  const reader = request.clone().body!.getReader();
  const read = await readUpTo(reader, limit);
  reader.cancel().catch(() => {}); // only the copy: the original's branch keeps the rest
  return { bytes: concat(read.chunks, read.size).subarray(0, limit), cut: !read.ended };
}

/**
 * The check (Envoy's ext_authz, HTTP mode): the request's method and host, the provider's
 * pathPrefix then the path and query, the headers the provider lists, and the body when asked (with
 * Envoy's x-envoy-auth-partial-body); a Workers RPC call is POST <pathPrefix>/<method> (gRPC's
 * shape through Envoy). Sent through the provider's binding as any mesh call; its timeout ends the
 * wait whatever the binding does with the signal.
 */
export async function askProvider(
  x: FetchExchange | CallExchange,
  service: string,
  p: CompiledExtAuthzProvider,
  target: Target | undefined,
  body: { bytes: Uint8Array; cut: boolean } | undefined,
): Promise<CheckOutcome> {
  if (!target) return { failed: `no binding to ${p.service}` };
  const fetch = x.kind === "fetch";
  const headers = new Headers(fetch ? listed(x.headers, p.requestHeaders) : undefined);
  if (fetch) headers.set("host", x.host); // Envoy's check carries the request's :authority
  headers.set(H.requestId, x.requestId);
  headers.set(H.deadline, String(p.timeoutMs));
  if (body) headers.set("x-envoy-auth-partial-body", String(body.cut));
  const url = fetch
    ? `https://${x.host}${p.pathPrefix}${x.path}${x.search}`
    : `https://${service}${p.pathPrefix}/${x.call.fullName}`;
  const abort = new AbortController();
  let timer;
  let res: Response;
  try {
    res = await Promise.race([
      target.fetch(
        url,
        { method: fetch ? x.method : "POST", headers, body: body?.bytes, signal: abort.signal, redirect: "manual" },
        x.ctx,
      ),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(abort.abort()), p.timeoutMs))),
    ]);
  } catch (e) {
    return { failed: abort.signal.aborted ? `timeout (${p.timeoutMs}ms)` : String(e) };
  } finally {
    clearTimeout(timer);
  }
  // The provider's edge answered for it (its Worker failed or timed out, or its policies refused this caller).
  const meshError = res.headers.get(H.error);
  if (meshError || (res.status >= 200 && res.status < 300)) {
    res.body?.cancel().catch(() => {});
    if (meshError) return { failed: `${res.status} ${meshError} from its edge` };
    return {
      status: res.status,
      upstream: listed(res.headers, p.upstreamOnAllow),
      downstream: listed(res.headers, p.downstreamOnAllow),
    };
  }
  // Denied: its status and body, and the headers the client may have.
  const out = new Headers();
  for (const [name, value] of listed(res.headers, [], (n) => deniedHeaderPasses(p, n))) out.append(name, value);
  return { status: res.status, answer: new Response(res.body, { status: res.status, headers: out }) };
}

/** The headers matching `patterns` (or `passes`), each Set-Cookie apart; never the mesh's own. */
function listed(h: Headers, patterns: readonly string[], passes = (n: string) => headerListed(patterns, n)) {
  const out: [string, string][] = [];
  for (const [name, value] of h)
    if (name !== "set-cookie" && !name.startsWith(INTERNAL_PREFIX) && passes(name)) out.push([name, value]);
  if (passes("set-cookie")) for (const c of h.getSetCookie()) out.push(["set-cookie", c]);
  return out;
}
