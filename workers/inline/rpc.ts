import { WorkerEntrypoint } from "cloudflare:workers";
import { isRpcMethodName } from "../../shared/rpc/method.ts";
import type { RpcInvocation } from "../dataplane/rpc/invocation.ts";

// Workers RPC in the inline data plane: the two ends of a call that the edge's forwarding
// entrypoint (workers/edge/rpc-forwarding.ts) joins in edge mode. In the caller's isolate a mesh
// client answers every method name (the outbound half routes it); in the callee's isolate the
// app's entrypoint answers every method through the inbound half before the app's own method.

type Invoke = (call: RpcInvocation) => Promise<unknown>;

/** A value for `name` that workerd (or the app) can call as a method or await as a property read. */
function callable(name: string, invoke: Invoke, wrap: (result: Promise<unknown>) => unknown = (r) => r) {
  const call = (...args: unknown[]) => wrap(invoke({ method: name, args }));
  call.then = (resolve: (v: unknown) => unknown, reject: (e: unknown) => unknown) =>
    invoke({ method: name, read: true }).then(resolve, reject);
  return call;
}

/**
 * A call's promise that also pipelines, as a binding's RpcPromise does: `env.CATALOG.counter().inc()`
 * calls `inc` on the stub the first call returns, without an `await` between. Only for the app's
 * side: what workerd receives from a receiver must be a real Promise.
 */
function pipelined(result: Promise<unknown>): unknown {
  return new Proxy(result, {
    get(target, prop) {
      if (prop === "then" || prop === "catch" || prop === "finally") {
        const f = target[prop] as (...a: unknown[]) => unknown;
        return f.bind(target);
      }
      if (typeof prop !== "string") return undefined;
      const read = () => target.then((v) => (v as Record<string, unknown>)[prop]);
      const call = (...args: unknown[]) =>
        pipelined(target.then((v) => (v as Record<string, (...a: unknown[]) => unknown>)[prop]!(...args)));
      call.then = (resolve: (v: unknown) => unknown, reject: (e: unknown) => unknown) => read().then(resolve, reject);
      return call;
    },
  });
}

/**
 * The mesh client of an inline callee in the caller's `env`: `fetch` and `connect` as given, every
 * other method name a Workers RPC call through `invoke` (the callee's outbound half), as the
 * edge's entrypoint forwards them. workerd's handler names and `then` are not methods (the client
 * is no thenable).
 */
export function rpcClient<T extends object>(base: T, invoke: Invoke): T {
  return new Proxy(base, {
    get(target, prop, receiver) {
      if (Reflect.has(target, prop)) return Reflect.get(target, prop, receiver);
      if (typeof prop !== "string" || !isRpcMethodName(prop)) return undefined;
      return callable(prop, invoke, pipelined);
    },
  });
}

/** Where `prop` is found: an app's own override of what every entrypoint has is the app's (no getter runs). */
function ownerOf(target: object, prop: string): object | undefined {
  for (let o: object | null = target; o; o = Object.getPrototypeOf(o)) if (Object.hasOwn(o, prop)) return o;
  return undefined;
}
const NOT_THE_APPS = new Set<object>([Object.prototype, WorkerEntrypoint.prototype]);

/**
 * An app's entrypoint instance as its callers reach it: each RPC method (or property read) runs
 * `inbound` first (authorization and rate limits, in the callee's isolate), then the app's own,
 * with the app's instance as `this`. A name the app lacks is workerd's own TypeError, so the caller's
 * half answers `no_method` as an edge would. Handlers (fetch, queue, …) and the instance's own
 * properties (env, ctx, which workerd never exposes over RPC) are the app's, untouched.
 */
export function rpcReceiver<T extends object>(
  app: T,
  inbound: (call: RpcInvocation, method: () => unknown) => Promise<unknown>,
): T {
  return new Proxy(app, {
    get(target, prop) {
      const passThrough =
        typeof prop !== "string" ||
        !isRpcMethodName(prop) ||
        Object.hasOwn(target, prop) ||
        NOT_THE_APPS.has(ownerOf(target, prop) ?? target);
      if (passThrough) {
        // A handler runs with the app's instance as `this`: its own methods and getters are the app's, not RPC.
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" && prop !== "constructor" ? value.bind(target) : value;
      }
      return callable(prop, (call) =>
        inbound(call, () => {
          if (!(prop in target)) throw new TypeError(`The RPC receiver does not implement the method "${prop}".`);
          const value = Reflect.get(target, prop, target);
          if ("read" in call) return value;
          if (typeof value !== "function")
            throw new TypeError(`The RPC receiver does not implement the method "${prop}".`);
          return (value as (...a: unknown[]) => unknown).apply(target, call.args);
        }),
      );
    },
  });
}
