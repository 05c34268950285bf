// What the primitives an edge uses cost inside workerd (µs per operation, averaged over many),
// for reasoning about the hop overhead. Run by scripts/bench/ops.ts.
const N = 20000;
const each = (fn) => {
  const t0 = Date.now(); // workerd's clocks are coarse: time many iterations
  for (let i = 0; i < N; i++) fn(i);
  return ((Date.now() - t0) * 1000) / N;
};
async function eachAsync(fn, n = 2000) {
  const t0 = Date.now();
  for (let i = 0; i < n; i++) await fn(i);
  return ((Date.now() - t0) * 1000) / n;
}
export default {
  async fetch(request, env) {
    const h = request.headers;
    const copy = new Headers(h);
    const resp = new Response("x".repeat(1000), {
      headers: { "content-type": "application/json", "x-a": "1", "x-b": "2" },
    });
    const chain = () => {
      let f = async () => 1;
      for (let i = 0; i < 13; i++) {
        const g = f;
        f = async () => await g();
      }
      return f();
    };
    return Response.json({
      "copy request Headers": each(() => new Headers(h)),
      "iterate request header names": each(() => {
        for (const k of h.keys()) if (k.startsWith("x-isomesh-")) return;
      }),
      "Headers.get": each(() => h.get("traceparent")),
      "Headers.set": each(() => copy.set("x-request-id", "abc")),
      "new URL": each(() => new URL(request.url)),
      "new Request (URL + init)": each(
        () => new Request("http://app/app", { method: "GET", headers: h, redirect: "manual" }),
      ),
      "new Response (copy of a response)": each(() => new Response(null, resp)),
      "new AbortController": each(() => new AbortController()),
      "crypto.getRandomValues (8 B)": each(() => crypto.getRandomValues(new Uint8Array(8))),
      "13 chained async functions": await eachAsync(chain, 5000),
      "service binding round trip (URL + init)": await eachAsync(() =>
        env.APP.fetch("http://app/app", { method: "GET", headers: h, redirect: "manual" }).then((r) => r.arrayBuffer()),
      ),
    });
  },
};
