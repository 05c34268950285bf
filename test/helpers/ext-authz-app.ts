// A test-only Worker in two roles. As the service `authz` it is an external authorization provider
// (Envoy's ext_authz, HTTP mode): `x-token: ok-<user>` is allowed with `x-user: <user>` and what it
// saw of the check (x-check-*), a path under /broken throws (its edge then answers for it), anything
// else is denied with 401. As any other service it is the app behind the check: it answers what
// reached it, its body included.
type Env = { SERVICE?: string };
export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const body = request.body ? await request.text() : "";
    if (env.SERVICE !== "authz")
      return Response.json({
        app: env.SERVICE,
        path: url.pathname + url.search,
        headers: Object.fromEntries(request.headers),
        body,
      });
    if (url.pathname.startsWith("/broken")) throw new Error("the provider is broken");
    const token = request.headers.get("x-token");
    const seen = {
      "x-check-caller": request.headers.get("x-isomesh-caller") ?? "",
      "x-check-path": `${request.method} ${request.headers.get("host")}${url.pathname}${url.search}`,
      "x-check-body": body,
      "x-check-partial": request.headers.get("x-envoy-auth-partial-body") ?? "",
      "x-check-headers": [...request.headers.keys()]
        .filter((h) => !h.startsWith("x-isomesh-"))
        .sort()
        .join(","),
    };
    if (token?.startsWith("ok-"))
      return new Response(null, { status: 200, headers: { "x-user": token.slice(3), ...seen } });
    return new Response(`denied: ${url.pathname}\n`, {
      status: 401,
      headers: { "x-deny-reason": "no token", "x-secret": "hidden", "content-type": "text/plain", ...seen },
    });
  },
};
