// A pass-through hop plus exactly one thing an edge may do, chosen by VARIANT: what each costs
// (run by scripts/bench/primitives.ts, in instructions per request).
import { WorkerEntrypoint } from "cloudflare:workers";

const NAMES = new Set(["fetch", "tail", "trace", "scheduled", "alarm", "test", "queue", "email", "connect", "then"]);
const forwarding = (target) =>
  new Proxy(target, {
    get(t, prop, receiver) {
      if (Reflect.has(t, prop)) return Reflect.get(t, prop, receiver);
      if (typeof prop !== "string" || NAMES.has(prop)) return undefined;
      const call = (...args) => Promise.resolve(args);
      call.then = (res, rej) => Promise.resolve(undefined).then(res, rej);
      return call;
    },
  });
const counts = new Map();
const noop = () => {};

async function variant(v, request, env, ctx) {
  switch (v) {
    case "bare":
      return env.APP.fetch(request);
    case "await + count status": {
      const res = await env.APP.fetch(request);
      counts.set(res.status, (counts.get(res.status) ?? 0) + 1);
      return res;
    }
    case "response copy + 3 header sets": {
      const res = await env.APP.fetch(request);
      const out = new Response(res.body, res);
      out.headers.set("x-request-id", "r");
      out.headers.set("x-isomesh-backend", "app/v1");
      out.headers.set("x-isomesh-attempts", "1");
      return out;
    }
    case "AbortSignal.timeout on the fetch":
      return env.APP.fetch(request, { signal: AbortSignal.timeout(15000) });
    case "setTimeout + clearTimeout": {
      const t = setTimeout(noop, 15000);
      const res = await env.APP.fetch(request);
      clearTimeout(t);
      return res;
    }
    case "AbortController + setTimeout, signal on the fetch": {
      const ac = new AbortController();
      const t = setTimeout(() => ac.abort(), 15000);
      const res = await env.APP.fetch(request, { signal: ac.signal });
      clearTimeout(t);
      return res;
    }
    case "AbortSignal.any(timeout, request.signal)":
      return env.APP.fetch(request, { signal: AbortSignal.any([AbortSignal.timeout(15000), request.signal]) });
    case "request.signal abort listener": {
      const s = request.signal;
      s.addEventListener("abort", noop);
      const res = await env.APP.fetch(request);
      s.removeEventListener("abort", noop);
      return res;
    }
    case "request.signal on the fetch":
      return env.APP.fetch(request, { signal: request.signal });
    case "5 headers.get":
      request.headers.get("traceparent");
      request.headers.get("x-request-id");
      request.headers.get("host");
      request.headers.get("x-isomesh-deadline-ms");
      request.headers.get("tracestate");
      return env.APP.fetch(request);
    case "scan header names":
      for (const k of request.headers.keys()) if (k.startsWith("x-isomesh-")) break;
      return env.APP.fetch(request);
    case "new Headers copy":
      new Headers(request.headers);
      return env.APP.fetch(request);
    case "new Request(request, {headers}) with 4 sets": {
      const h = new Headers(request.headers);
      h.set("x-request-id", "r");
      h.set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
      h.set("x-isomesh-deadline-ms", "15000");
      h.set("x-isomesh-caller", "gateway");
      return env.APP.fetch(new Request(request, { headers: h }));
    }
    case "fetch(url, init) with 4 sets": {
      const h = new Headers(request.headers);
      h.set("x-request-id", "r");
      h.set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
      h.set("x-isomesh-deadline-ms", "15000");
      h.set("x-isomesh-caller", "gateway");
      return env.APP.fetch(request.url, { method: request.method, headers: h, redirect: "manual" });
    }
    case "new Request(request), 4 sets on its headers": {
      const r = new Request(request);
      r.headers.set("x-request-id", "r");
      r.headers.set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
      r.headers.set("x-isomesh-deadline-ms", "15000");
      r.headers.set("x-isomesh-caller", "gateway");
      return env.APP.fetch(r);
    }
    case "fetch(request, {headers}) with 4 sets": {
      const h = new Headers(request.headers);
      h.set("x-request-id", "r");
      h.set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
      h.set("x-isomesh-deadline-ms", "15000");
      h.set("x-isomesh-caller", "gateway");
      return env.APP.fetch(request, { headers: h });
    }
    case "new Headers copy + 4 sets": {
      const h = new Headers(request.headers);
      h.set("x-request-id", "r");
      h.set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
      h.set("x-isomesh-deadline-ms", "15000");
      h.set("x-isomesh-caller", "gateway");
      return env.APP.fetch(request);
    }
    case "response copy, no sets": {
      const res = await env.APP.fetch(request);
      return new Response(res.body, res);
    }
    case "response copy + 2 header sets": {
      const res = await env.APP.fetch(request);
      const out = new Response(res.body, res);
      out.headers.set("x-isomesh-backend", "app/v1");
      out.headers.set("x-isomesh-attempts", "1");
      return out;
    }
    case "new URL(request.url)":
      new URL(request.url);
      return env.APP.fetch(request);
    case "request.url string":
      request.url.indexOf("/", 8);
      return env.APP.fetch(request);
    case "crypto.randomUUID":
      crypto.randomUUID();
      return env.APP.fetch(request);
    case "getRandomValues(24)":
      crypto.getRandomValues(new Uint8Array(24));
      return env.APP.fetch(request);
    case "13 chained async functions": {
      let f = (r) => env.APP.fetch(r);
      for (let i = 0; i < 13; i++) {
        const next = f;
        f = async (r) => next(r);
      }
      return f(request);
    }
    case "13 chained async functions, awaited": {
      let f = (r) => env.APP.fetch(r);
      for (let i = 0; i < 13; i++) {
        const next = f;
        f = async (r) => {
          const res = await next(r);
          return res;
        };
      }
      return f(request);
    }
    case "ctx.waitUntil(resolved promise)":
      ctx.waitUntil(Promise.resolve());
      return env.APP.fetch(request);
    default:
      return new Response(`unknown variant ${v}`, { status: 500 });
  }
}

export const VARIANTS = [];

export class Plain extends WorkerEntrypoint {
  fetch(request) {
    return variant(this.env.VARIANT, request, this.env, this.ctx);
  }
}

/** The edge's shape: a WorkerEntrypoint whose constructor returns a Proxy (Workers RPC forwarding). */
export class Proxied extends WorkerEntrypoint {
  constructor(ctx, env) {
    super(ctx, env);
    return forwarding(this);
  }
  fetch(request) {
    return variant(this.env.VARIANT, request, this.env, this.ctx);
  }
}

/** Workers RPC forwarding with the Proxy on the prototype: nothing allocated per instance. */
export class ProtoProxied extends WorkerEntrypoint {
  fetch(request) {
    return variant(this.env.VARIANT, request, this.env, this.ctx);
  }
}
Object.setPrototypeOf(ProtoProxied.prototype, forwarding(Object.create(WorkerEntrypoint.prototype)));

export default {
  fetch(request, env, ctx) {
    return variant(env.VARIANT, request, env, ctx);
  },
};
