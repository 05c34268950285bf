// The RPC benchmark's caller: /rpc makes one Workers RPC call on env.APP, /fetch one fetch; the
// same code whether APP is a bare binding to the app or the mesh's binding to its edge.
type Env = { APP: Fetcher & { get(id: number): Promise<unknown> } };

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    if (new URL(request.url).pathname === "/rpc") return Response.json(await env.APP.get(1));
    const res = await env.APP.fetch("http://app/item");
    return new Response(res.body, res);
  },
} satisfies ExportedHandler<Env>;
