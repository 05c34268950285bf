// A pass-through hop plus exactly one thing the edge does, chosen by VARIANT: what each costs in
// process CPU (run by scripts/bench/variants.ts).
export default {
  async fetch(request, env) {
    switch (env.VARIANT) {
      case "pass":
        return env.APP.fetch(request);
      case "touch headers":
        request.headers.get("traceparent");
        return env.APP.fetch(request);
      case "copy headers":
        new Headers(request.headers);
        return env.APP.fetch(request);
      case "scan header names":
        for (const k of request.headers.keys()) if (k.startsWith("x-isomesh-")) break;
        return env.APP.fetch(request);
      case "parse URL":
        new URL(request.url);
        return env.APP.fetch(request);
      case "rebuild request": {
        const h = new Headers(request.headers);
        h.set("x-request-id", "a");
        return env.APP.fetch(request.url, { method: request.method, headers: h, redirect: "manual" });
      }
      case "copy response": {
        const res = await env.APP.fetch(request);
        const out = new Response(res.body, res); // a binding's response headers are immutable
        out.headers.set("x-a", "1");
        return out;
      }
      default:
        return new Response(`unknown variant ${env.VARIANT}`, { status: 500 });
    }
  },
};
