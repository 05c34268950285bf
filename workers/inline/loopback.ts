import { WorkerEntrypoint } from "cloudflare:workers";

// Why this exists: an app reads its bindings from its handler's `env`, which the inline wrapper
// hands it with each inline callee a mesh client, but also from `import { env } from
// "cloudflare:workers"` (any module, its top level included), from a Durable Object's or a
// Workflow's own `env`, and from entrypoints it reaches through `ctx.exports`: all of those are the
// Worker's own env, which the wrapper never sees. So that every one of them meets the mesh, `gen`
// makes each inline call's binding name (env.RATINGS) in that env a service binding to this very
// Worker's `IsomeshOutbound` entrypoint, props `{ binding: "RATINGS" }`: a call through it runs the
// same client (the callee's outbound half) in this Worker, one in-process hop later. The handler's
// own `env` keeps the direct client (no extra hop on the common path).

/** The mesh client of one inline call binding, bound to this invocation. */
export type ClientOf = (env: Record<string, unknown>, ctx: ExecutionContext, binding: string) => object;

/**
 * The entrypoint a loopback binding reaches: `fetch` and every Workers RPC method go to the
 * binding's mesh client. Returning another object from the constructor is how workerd lets an
 * entrypoint answer any method name (as the edge's forwarding entrypoint does).
 */
export function outboundEntrypoint(clientOf: ClientOf) {
  return class IsomeshOutbound extends WorkerEntrypoint<Record<string, unknown>> {
    constructor(ctx: ExecutionContext, env: Record<string, unknown>) {
      super(ctx, env);
      const binding = (ctx as { props?: { binding?: unknown } }).props?.binding;
      if (typeof binding !== "string") throw new Error("IsomeshOutbound: reached without the mesh's loopback props");
      const client = clientOf(env, ctx, binding) as Record<string, unknown>;
      return new Proxy(this, {
        get(target, prop) {
          if (prop === "fetch")
            return (request: Request) => (client.fetch as (r: Request) => Promise<Response>)(request);
          if (typeof prop !== "string" || prop === "constructor" || prop in WorkerEntrypoint.prototype)
            return Reflect.get(target, prop, target);
          const method = client[prop];
          // What workerd receives must be a real Promise (the client's pipelines, for the app's side).
          return typeof method === "function"
            ? (...args: unknown[]) => Promise.resolve((method as (...a: unknown[]) => unknown)(...args))
            : method;
        },
      });
    }
  };
}
