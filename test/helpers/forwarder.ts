// A test-only app: forwards each request to the bindings listed in `x-forward-to` (e.g.
// "REVIEWS,RATINGS": this hop calls REVIEWS, which calls RATINGS), so tests can make east-west
// calls from any service identity. `x-forward-spoof` makes it claim an end-user principal.
// The last hop may call another URL (`x-forward-url`, e.g. an external host through EGRESS) with
// a Host header of its choosing (`x-forward-host`); `x-forward-to: FETCH` uses the global fetch.
// `x-forward-cancel-when: URL` makes this hop give up on its call (abort it) once URL answers, as an
// app's own timeout would, at a moment the test chooses; it answers 504 then. `x-forward-header:
// NAME: VALUE` sets one more header on the call (what a misbehaving app could send).
type Env = Record<string, Fetcher | string | undefined>;
export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const [first, ...rest] = (request.headers.get("x-forward-to") ?? "").split(",").filter(Boolean);
    if (!first)
      return Response.json({
        app: env.SERVICE,
        caller: request.headers.get("x-isomesh-caller"),
        principal: request.headers.get("x-isomesh-principal"),
      });
    const target = first === "FETCH" ? { fetch: (url: string, init: RequestInit) => fetch(url, init) } : env[first];
    if (!target || typeof target === "string") return new Response(`no binding ${first}`, { status: 599 });
    const headers = new Headers(request.headers);
    if (rest.length) headers.set("x-forward-to", rest.join(","));
    else headers.delete("x-forward-to");
    const cancelWhen = request.headers.get("x-forward-cancel-when");
    headers.delete("x-forward-cancel-when");
    const giveUp = cancelWhen ? new AbortController() : undefined;
    if (cancelWhen)
      void fetch(cancelWhen)
        .then((r) => r.body?.cancel())
        .finally(() => giveUp!.abort());
    const extra = request.headers.get("x-forward-header");
    headers.delete("x-forward-header");
    if (extra?.includes(":"))
      headers.set(extra.slice(0, extra.indexOf(":")).trim(), extra.slice(extra.indexOf(":") + 1).trim());
    const spoof = request.headers.get("x-forward-spoof");
    if (spoof) headers.set("x-isomesh-principal", spoof);
    const url = !rest.length && request.headers.get("x-forward-url");
    const host = request.headers.get("x-forward-host");
    if (url) {
      for (const h of ["x-forward-url", "x-forward-host", "host"]) headers.delete(h);
      if (host) headers.set("host", host);
    }
    if (!giveUp) return target.fetch(url || request.url, { method: request.method, headers });
    try {
      return await target.fetch(url || request.url, { method: request.method, headers, signal: giveUp.signal });
    } catch (e) {
      if (giveUp.signal.aborted) return new Response("gave up", { status: 504 });
      throw e;
    }
  },
} satisfies ExportedHandler<Env>;
