import { isRpcMethodName } from "../../../shared/rpc/method.ts";

/** A Workers RPC call as it reaches an edge: a method call with its arguments, or a property read. */
export type RpcInvocation = { method: string; args: unknown[] } | { method: string; read: true };

/**
 * Makes an entrypoint answer every method name a caller uses, as the edge must for Workers RPC:
 * `await env.RATINGS.getRating(1)` reaches the ratings edge as a `get` of "getRating" on its
 * default entrypoint, then a call. The edge is one bundle for every service, so it cannot declare
 * each app's methods as its own; this Proxy (Miniflare's assets rpc-proxy and the Vite plugin do
 * the same) hands each call to `invoke`, which routes it like a fetch.
 *
 * What workerd does with it is pinned down in test/workers/rpc-runtime.test.ts:
 * - workerd reads the name of every handler it knows (tail, scheduled, alarm, …) on each new
 *   instance: those are answered with `undefined`, so the edge claims no handler it lacks;
 * - names the entrypoint itself has (`fetch`, and what WorkerEntrypoint gives it) are its own;
 *   workerd refuses instance properties (`env`, `ctx`) over RPC even through the Proxy, so a
 *   caller never reaches the edge's bindings;
 * - the value answered is a function that is also a thenable: workerd calls it for a method call
 *   and awaits it for a property read (`await env.RATINGS.version`), so both go through the mesh.
 */
export function forwardingEntrypoint<T extends object>(
  entrypoint: T,
  invoke: (call: RpcInvocation) => Promise<unknown>,
): T {
  return new Proxy(entrypoint, {
    get(target, prop, receiver) {
      if (Reflect.has(target, prop)) return Reflect.get(target, prop, receiver);
      if (typeof prop !== "string" || !isRpcMethodName(prop)) return undefined;
      const call = (...args: unknown[]) => invoke({ method: prop, args });
      // A property read awaits the value without calling it.
      call.then = (resolve: (v: unknown) => unknown, reject: (e: unknown) => unknown) =>
        invoke({ method: prop, read: true }).then(resolve, reject);
      return call;
    },
  });
}
