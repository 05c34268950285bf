// A test-only app: forwards each request to the bindings listed in `x-forward-to` (e.g.
// "REVIEWS,RATINGS": this hop calls REVIEWS, which calls RATINGS), so tests can make east-west
// calls from any service identity. `x-forward-spoof` makes it claim an end-user principal.
type Env = Record<string, Fetcher | string | undefined>;
export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const [first, ...rest] = (request.headers.get("x-forward-to") ?? "").split(",").filter(Boolean);
    if (!first) return Response.json({ app: env.SERVICE, caller: request.headers.get("x-isomesh-caller"), principal: request.headers.get("x-isomesh-principal") });
    const target = env[first];
    if (!target || typeof target === "string") return new Response(`no binding ${first}`, { status: 599 });
    const headers = new Headers(request.headers);
    if (rest.length) headers.set("x-forward-to", rest.join(","));
    else headers.delete("x-forward-to");
    const spoof = request.headers.get("x-forward-spoof");
    if (spoof) headers.set("x-isomesh-principal", spoof);
    return target.fetch(request.url, { method: request.method, headers });
  },
} satisfies ExportedHandler<Env>;
