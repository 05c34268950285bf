import { WorkerEntrypoint } from "cloudflare:workers";
import { ENTRYPOINT_HANDLERS, isRpcMethodName } from "../../shared/rpc/method.ts";
import type { RpcInvocation } from "../dataplane/rpc/invocation.ts";

type Instance = WorkerEntrypoint<unknown, unknown>;

/**
 * Makes an entrypoint class answer every method name a caller uses, as the edge must for Workers
 * RPC: `await env.RATINGS.getRating(1)` reaches the ratings edge as a `get` of "getRating" on an
 * instance of its default entrypoint, then a call. The edge is one bundle for every service, so it
 * cannot declare each app's methods as its own; a Proxy behind the class's prototype (Miniflare's
 * assets rpc-proxy forwards the same way, from a Proxy per instance) hands each call to `invoke`
 * with the instance it was called on, which routes it like a fetch.
 *
 * What workerd does with it is pinned down in test/workers/rpc-runtime.test.ts:
 * - workerd reads the name of every handler it knows (tail, scheduled, alarm, …) on each new
 *   instance: the class answers those itself with `undefined` (so it claims no handler it lacks, and
 *   no lookup reaches the proxy: a request costs what it costs on a plain class);
 * - names the entrypoint itself has (`fetch`, and what WorkerEntrypoint gives it) are its own;
 *   workerd refuses instance properties (`env`, `ctx`) over RPC, so a caller never reaches the
 *   edge's bindings;
 * - the value answered is a function that is also a thenable: workerd calls it for a method call
 *   and awaits it for a property read (`await env.RATINGS.version`), so both go through the mesh.
 */
export function forwardRpc<I extends Instance>(
  Entrypoint: { prototype: I },
  invoke: (instance: I, call: RpcInvocation) => Promise<unknown>,
): void {
  const prototype = Entrypoint.prototype as object;
  for (const name of ENTRYPOINT_HANDLERS)
    if (!(name in prototype))
      Object.defineProperty(prototype, name, { value: undefined, writable: true, configurable: true });
  const behind = Object.create(Object.getPrototypeOf(prototype) ?? WorkerEntrypoint.prototype) as object;
  Object.setPrototypeOf(
    prototype,
    new Proxy(behind, {
      get(target, prop, receiver) {
        if (Reflect.has(target, prop)) return Reflect.get(target, prop, receiver);
        if (typeof prop !== "string" || !isRpcMethodName(prop)) return undefined;
        const instance = receiver as I;
        const call = (...args: unknown[]) => invoke(instance, { method: prop, args });
        // A property read awaits the value without calling it.
        call.then = (resolve: (v: unknown) => unknown, reject: (e: unknown) => unknown) =>
          invoke(instance, { method: prop, read: true }).then(resolve, reject);
        return call;
      },
    }),
  );
}
