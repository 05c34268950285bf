import type { Miniflare } from "miniflare";
import { ownedMiniflare } from "../../scripts/lib/scratch-dir.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// What workerd does with a Workers RPC call that crosses a forwarding entrypoint (caller → edge →
// version), the behaviour the edge's RPC path is built on (workers/edge/rpc-forwarding.ts). Each
// case runs the same call over a bare binding to the version and through the forwarder, and the
// two must agree: the mesh adds a hop, never a difference. If a workerd upgrade changes one of
// these, this file says so before the mesh's own tests fail in a stranger way.
//
// Findings (workerd 2026-04-26, compatibility date 2025-04-01):
// - An entrypoint whose constructor returns a Proxy receives every method name the caller uses
//   (Miniflare's assets rpc-proxy does the same). workerd reads each handler name it supports
//   (connect, tail, trace, tailStream, scheduled, alarm, test, webSocket*, self, …) on every new
//   instance: the proxy must answer those with undefined, or the edge would claim the handlers.
// - workerd refuses instance properties over RPC even through the Proxy (`env`, `ctx`, fields):
//   a caller cannot reach the edge's bindings. Prototype methods are reachable: the edge's own
//   methods share the caller's namespace, so nothing but `fetch` may live on the edge's default
//   entrypoint (the control plane's `refresh()` is on a named entrypoint).
// - A property read (`await env.X.version`) is a `get` of the same name with no call. A plain
//   function answers it with a function stub; a function that is also a thenable answers both
//   a call and a read, so the edge can route reads as well.
// - Across the double hop: structured clones (Map, Set, Date, RegExp, bigint, typed arrays,
//   errors as values), ReadableStream both ways, Response, RpcTarget stubs (and calls on them),
//   functions passed as arguments, objects holding functions, and promise pipelining
//   (`X.counter().inc()`) behave as over a bare binding.
// - A callee's exception reaches the caller with its class for the built-in error types
//   (TypeError, RangeError, …) and its message; a custom class arrives as Error with
//   "Name: message"; own properties are lost; `remote` is true; the stack is the caller's own.
//   workerd's "does not implement the method" is a TypeError naming only the method.
// - A stub kept by the callee past its call (`fn.dup()`) cannot be called from a later request
//   ("Cannot perform I/O on behalf of a different request"), bare or forwarded alike.
// - When the forwarder stops waiting (a timeout) and returns, its pending call to the version is
//   cancelled: the version's handler never resumes (as for fetch, see cancellation-runtime).
// - Named entrypoints: the forwarder picks a binding with `entrypoint:` from its props.
// - Props are each binding's own: the forwarder sees the caller's (`ctx.props.caller`, which the
//   caller cannot forge), the version sees the forwarder's binding's. So a version learns nothing
//   of the original caller from props, and the forwarder must act on the caller's identity itself.
// - An RPC call carries no headers: no trace context or deadline travels with it unless the
//   caller passes them as arguments.

const version = `
import { WorkerEntrypoint, RpcTarget } from "cloudflare:workers";
const log = [];
class Counter extends RpcTarget {
  n = 0;
  inc() { return ++this.n; }
  get value() { return this.n; }
}
class MyError extends Error { constructor(m) { super(m); this.name = "MyError"; this.code = "E_MINE"; } }
let kept;
export default class Ratings extends WorkerEntrypoint {
  get version() { return "v1"; }
  add(a, b) { return a + b; }
  echo(x) { return x; }
  stream() { return new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode("hello ")); c.enqueue(new TextEncoder().encode("stream")); c.close(); } }); }
  async readStream(rs) { return await new Response(rs).text(); }
  counter() { return new Counter(); }
  async callBack(fn) { return await fn(21); }
  keepCallback(fn) { kept = fn.dup(); return "kept"; }
  async callKept() { return await kept(1); }
  throwTypeError() { throw new TypeError("bad type here"); }
  throwCustom() { throw new MyError("mine"); }
  async slow(ms, id) { await scheduler.wait(ms); log.push("slow resumed " + id); return "slow done"; }
  obj() { return { fn: (x) => x * 2, nested: { y: 1 } }; }
  response() { return new Response("a response", { status: 201, headers: { "x-a": "1" } }); }
  log() { return log; }
  props() { return this.ctx.props ?? null; }
  async fetch() { return new Response("version fetch"); }
}
export class Admin extends WorkerEntrypoint {
  reset() { return "reset by Admin"; }
}
`;

/** The smallest forwarder: what the edge does, without the mesh's decisions. */
const forwarder = `
import { WorkerEntrypoint } from "cloudflare:workers";
const probed = new Set();
const HANDLERS = new Set(["connect", "tail", "trace", "tailStream", "scheduled", "alarm", "test", "queue", "email", "webSocketMessage", "webSocketClose", "webSocketError", "self"]);
export default class Forwarder extends WorkerEntrypoint {
  secretField = "an instance field";
  constructor(ctx, env) {
    super(ctx, env);
    return new Proxy(this, {
      get(target, prop, receiver) {
        if (Reflect.has(target, prop)) return Reflect.get(target, prop, receiver);
        if (typeof prop !== "string") return undefined;
        if (HANDLERS.has(prop)) { probed.add(prop); return undefined; }
        const to = target.ctx.props?.entrypoint === "Admin" ? target.env.V_ADMIN : target.env.V;
        if (prop === "slowWithTimeout") return async (ms, id, limit) => {
          let timer;
          const expired = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("gave up after " + limit + "ms")), limit)));
          try { return await Promise.race([to.slow(ms, id), expired]); } finally { clearTimeout(timer); }
        };
        const call = async (...args) => { await null; return to[prop](...args); };
        call.then = (resolve, reject) => Promise.resolve().then(() => to[prop]).then(resolve, reject);
        return call;
      },
    });
  }
  fetch() { return new Response("forwarder fetch"); }
  probed() { return [...probed]; }
}
`;

/**
 * The same forwarder with its proxy behind the class's prototype, as the edge has it
 * (workers/edge/rpc-forwarding.ts): the handler names workerd reads on each instance are the
 * class's own (undefined), so they never reach the proxy, and nothing is made per instance.
 */
const prototypeForwarder = `
import { WorkerEntrypoint } from "cloudflare:workers";
const trapped = [];
const HANDLERS = ["connect", "tail", "trace", "tailStream", "scheduled", "alarm", "test", "queue", "email", "webSocketMessage", "webSocketClose", "webSocketError", "self"];
export default class Forwarder extends WorkerEntrypoint {
  secretField = "an instance field";
  fetch() { return new Response("forwarder fetch"); }
  trapped() { return trapped.splice(0); }
}
for (const name of HANDLERS) Object.defineProperty(Forwarder.prototype, name, { value: undefined, writable: true, configurable: true });
Object.setPrototypeOf(Forwarder.prototype, new Proxy(Object.create(WorkerEntrypoint.prototype), {
  get(target, prop, receiver) {
    if (Reflect.has(target, prop)) return Reflect.get(target, prop, receiver);
    if (typeof prop !== "string") return undefined;
    trapped.push(prop);
    const to = receiver.ctx.props?.entrypoint === "Admin" ? receiver.env.V_ADMIN : receiver.env.V;
    const call = async (...args) => { await null; return to[prop](...args); };
    call.then = (resolve, reject) => Promise.resolve().then(() => to[prop]).then(resolve, reject);
    return call;
  },
}));
`;

/** Runs one named scenario against a binding (V: bare, EDGE: forwarded) and answers what it saw. */
const caller = `
const described = (e) => ({ threw: true, ctor: e?.constructor?.name, name: e?.name, message: e?.message, remote: e?.remote, code: e?.code, ownKeys: Object.keys(e ?? {}) });
const scenarios = {
  add: (b) => b.add(2, 3),
  clone: async (b) => {
    const v = await b.echo({ m: new Map([[1, "a"]]), s: new Set([1]), d: new Date(0), re: /x/g, u: new Uint8Array([1, 2]), big: 10n, err: new RangeError("inner") });
    return { m: v.m instanceof Map && v.m.get(1), s: v.s instanceof Set, d: v.d instanceof Date && v.d.getTime(), re: v.re instanceof RegExp && v.re.flags, u: [...v.u], big: String(v.big), err: v.err instanceof RangeError && v.err.message };
  },
  streamOut: async (b) => await new Response(await b.stream()).text(),
  streamIn: (b) => b.readStream(new Response("sent stream").body),
  response: async (b) => { const r = await b.response(); return { status: r.status, x: r.headers.get("x-a"), body: await r.text() }; },
  rpcTarget: async (b) => { const c = await b.counter(); await c.inc(); return { n: await c.inc(), value: await c.value }; },
  pipelined: (b) => b.counter().inc(),
  callback: (b) => b.callBack((x) => x * 2),
  keptCallback: async (b) => { await b.keepCallback((x) => "called " + x); return await b.callKept(); },
  objectWithFunction: async (b) => { const o = await b.obj(); return { fn: await o.fn(4), y: o.nested.y }; },
  objectPipelined: (b) => b.obj().fn(5),
  typeError: (b) => b.throwTypeError(),
  customError: (b) => b.throwCustom(),
  missing: (b) => b.nope(1),
  getter: async (b) => await b.version,
  instanceField: async (b) => await b.secretField,
  env: async (b) => await b.env,
  ctx: async (b) => await b.ctx,
};
export default { async fetch(request, env) {
  const url = new URL(request.url);
  const via = url.searchParams.get("via");
  const b = via === "edge" ? env.EDGE : via === "proto" ? env.PROTO : env.V;
  if (url.pathname === "/named") return Response.json(await (via === "edge" ? env.EDGE_ADMIN : via === "proto" ? env.PROTO_ADMIN : env.V_ADMIN).reset());
  if (url.pathname === "/trapped") { await env.PROTO.fetch("http://proto/"); return Response.json(await env.PROTO.trapped()); }
  if (url.pathname === "/props") return Response.json(await b.props());
  if (url.pathname === "/probed") return Response.json(await env.EDGE.probed());
  if (url.pathname === "/log") return Response.json(await env.V.log());
  if (url.pathname === "/timeout") { try { return Response.json(await env.EDGE.slowWithTimeout(300, url.searchParams.get("id"), 30)); } catch (e) { return Response.json(described(e)); } }
  const scenario = scenarios[url.pathname.slice(1)];
  try { const v = await scenario(b); return Response.json(typeof v === "function" ? "<function stub>" : v ?? null); }
  catch (e) { return Response.json(described(e)); }
} }`;

let mf: Miniflare;
const get = async (path: string) => (await mf.dispatchFetch(`http://caller${path}`)).json();

beforeAll(async () => {
  mf = ownedMiniflare({
    workers: [
      {
        name: "caller",
        modules: true,
        script: caller,
        compatibilityDate: "2025-04-01",
        serviceBindings: {
          V: { name: "version", props: { caller: "a" } },
          V_ADMIN: { name: "version", entrypoint: "Admin" },
          EDGE: { name: "edge", props: { caller: "a" } },
          EDGE_ADMIN: { name: "edge", props: { caller: "a", entrypoint: "Admin" } },
          PROTO: { name: "proto", props: { caller: "a" } },
          PROTO_ADMIN: { name: "proto", props: { caller: "a", entrypoint: "Admin" } },
        },
      },
      {
        name: "proto",
        modules: true,
        script: prototypeForwarder,
        compatibilityDate: "2025-04-01",
        serviceBindings: {
          V: { name: "version", props: { via: "edge" } },
          V_ADMIN: { name: "version", entrypoint: "Admin" },
        },
      },
      {
        name: "edge",
        modules: true,
        script: forwarder,
        compatibilityDate: "2025-04-01",
        serviceBindings: {
          V: { name: "version", props: { via: "edge" } },
          V_ADMIN: { name: "version", entrypoint: "Admin" },
        },
      },
      { name: "version", modules: true, script: version, compatibilityDate: "2025-04-01" },
    ],
  });
  await mf.ready;
});
afterAll(() => mf?.dispose());

const SAME = [
  "add",
  "clone",
  "streamOut",
  "streamIn",
  "response",
  "rpcTarget",
  "pipelined",
  "callback",
  "keptCallback",
  "objectWithFunction",
  "objectPipelined",
  "typeError",
  "customError",
  "missing",
  "getter",
  "instanceField",
  "env",
  "ctx",
];

describe("a Workers RPC call through a forwarding entrypoint (workerd)", () => {
  it.each(SAME)("%s: the caller sees the same through the forwarder as over a bare binding", async (scenario) => {
    const bare = await get(`/${scenario}`);
    expect(await get(`/${scenario}?via=edge`)).toEqual(bare);
    expect(await get(`/${scenario}?via=proto`)).toEqual(bare); // the edge's shape: the proxy behind the prototype
  });

  it("with the proxy behind the prototype, a request's handler lookups never reach it: only RPC method names do", async () => {
    await get("/trapped"); // what earlier tests' calls trapped
    expect(await get("/trapped")).toEqual([]); // a fetch: workerd read every handler name, none trapped
    await get("/add?via=proto");
    expect(await get("/trapped")).toEqual(["add"]);
  });

  it("what crosses: clones, streams both ways, responses, stubs and pipelined calls on them, callbacks", async () => {
    expect(await get("/clone?via=edge")).toEqual({
      m: "a",
      s: true,
      d: 0,
      re: "g",
      u: [1, 2],
      big: "10",
      err: "inner",
    });
    expect(await get("/streamOut?via=edge")).toBe("hello stream");
    expect(await get("/streamIn?via=edge")).toBe("sent stream");
    expect(await get("/response?via=edge")).toEqual({ status: 201, x: "1", body: "a response" });
    expect(await get("/rpcTarget?via=edge")).toEqual({ n: 2, value: 2 });
    expect(await get("/pipelined?via=edge")).toBe(1);
    expect(await get("/callback?via=edge")).toBe(42);
    expect(await get("/objectPipelined?via=edge")).toBe(10);
    expect(await get("/getter?via=edge")).toBe("v1"); // the callable thenable answers a property read
  });

  it("errors: built-in classes and messages cross, custom classes become Error 'Name: message', own properties are lost", async () => {
    expect(await get("/typeError?via=edge")).toEqual({
      threw: true,
      ctor: "TypeError",
      name: "TypeError",
      message: "bad type here",
      remote: true,
      ownKeys: ["remote"],
    });
    expect(await get("/customError?via=edge")).toMatchObject({
      ctor: "Error",
      message: "MyError: mine",
      remote: true,
      ownKeys: ["remote"],
    });
    expect(await get("/missing?via=edge")).toMatchObject({
      ctor: "TypeError",
      message: 'The RPC receiver does not implement the method "nope".',
    });
    expect(await get("/keptCallback?via=edge")).toMatchObject({
      threw: true,
      message: expect.stringContaining("Cannot perform I/O on behalf of a different request"),
    });
  });

  it("the forwarder's own state is out of reach: instance fields, env and ctx are refused as over a bare binding", async () => {
    for (const name of ["instanceField", "env", "ctx"])
      expect(await get(`/${name}?via=edge`)).toMatchObject({
        ctor: "TypeError",
        message: expect.stringContaining("does not implement the method"),
      });
  });

  it("workerd reads every handler name it knows on each new instance: the forwarder must not claim them", async () => {
    await get("/add?via=edge");
    expect(await get("/probed")).toEqual(
      expect.arrayContaining(["connect", "tail", "scheduled", "alarm", "test", "webSocketMessage", "self"]),
    );
  });

  it("props are the last binding's: through the forwarder the version sees the forwarder's binding, never the caller's", async () => {
    expect(await get("/props")).toEqual({ caller: "a" });
    expect(await get("/props?via=edge")).toEqual({ via: "edge" });
    expect(await get("/props?via=proto")).toEqual({ via: "edge" });
  });

  it("named entrypoints: the forwarder's props pick the version's binding with `entrypoint:`", async () => {
    expect(await get("/named")).toBe("reset by Admin");
    expect(await get("/named?via=edge")).toBe("reset by Admin");
    expect(await get("/named?via=proto")).toBe("reset by Admin");
  });

  it("a forwarder that stops waiting cancels the version's call: its handler never resumes", async () => {
    expect(await get("/timeout?id=t1")).toMatchObject({ threw: true, message: "gave up after 30ms" });
    // The version's own request for /log starts after the 300 ms it would have slept.
    await new Promise((r) => setTimeout(r, 400));
    expect(await get("/log")).not.toContain("slow resumed t1");
  });
});
