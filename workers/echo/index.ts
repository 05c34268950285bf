import { decideEcho, type EchoVars, FailureCounter } from "./controls.ts";

type Env = EchoVars & { SERVICE?: string; VERSION?: string };

const failures = new FailureCounter();

/**
 * The built-in echo backend (DESIGN §3): answers JSON with what it received. Usable as any
 * service version in a manifest, for demos and conformance tests.
 */
export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const decision = decideEcho(request.headers, env, Math.random(), (key, times) => failures.take(key, times));
    if (decision.delayMs > 0) await new Promise((r) => setTimeout(r, decision.delayMs));
    const headers: Record<string, string> = {};
    for (const [k, v] of request.headers) headers[k.toLowerCase()] = v;
    const body = {
      service: env.SERVICE ?? null,
      version: env.VERSION ?? null,
      method: request.method,
      path: url.pathname + url.search,
      host: request.headers.get("host") ?? url.host,
      headers,
      caller: request.headers.get("x-isomesh-caller"),
    };
    const requestId = request.headers.get("x-request-id");
    return new Response(JSON.stringify(body), {
      status: decision.status,
      headers: {
        "content-type": "application/json",
        ...(requestId ? { "x-request-id": requestId } : {}),
        "x-echo-reason": decision.reason,
      },
    });
  },
} satisfies ExportedHandler<Env>;
