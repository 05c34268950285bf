import { WorkerEntrypoint } from "cloudflare:workers";
import type { ReportAnswer } from "../../shared/control-api.ts";
import { MeshError } from "../../shared/errors.ts";
import { H } from "../../shared/headers.ts";
import { INLINE_CONTROL, INLINE_DEV_GUARD, INLINE_PREFIX, inlineExtAuthzBinding } from "../../shared/names.ts";
import { callerError } from "../../shared/rpc/outcome.ts";
import { type EdgeProps, isFetcher } from "../dataplane/env.ts";
import type { Exchange } from "../dataplane/exchange.ts";
import { calleeReach, edgeEnvOf } from "../dataplane/inline-env.ts";
import { buildInbound, buildOutbound } from "../dataplane/pipelines.ts";
import { DataPlane, type Half } from "../dataplane/plane.ts";
import type { RpcInvocation } from "../dataplane/rpc/invocation.ts";
import type { AppHandler } from "../dataplane/stages/app.ts";
import { randomHex } from "../dataplane/trace.ts";
import { bindingTarget, DEV_GUARD_HEADER } from "../dataplane/upstream.ts";
import type { InlineConfig } from "./config.ts";
import { rpcClient, rpcReceiver } from "./rpc.ts";
import { outboundEntrypoint } from "./loopback.ts";
import { assetsRouter } from "./assets.ts";

export type { InlineConfig } from "./config.ts";

type Env = Record<string, unknown>;
type Ctx = ExecutionContext & { props?: EdgeProps };
/** What a mesh client in an app's env is bound to: the invocation's context and, for a request, its signal. */
type Call = { ctx: Ctx; signal?: AbortSignal };
type Handler = (arg: unknown, env: Env, ctx: Ctx) => unknown;

// Handlers other than fetch get the app's env (callees' clients in it) and nothing else of the mesh:
// queue, scheduled, email and tail events do not come through a mesh binding (docs/data-plane.md).
const OTHER_HANDLERS = ["queue", "scheduled", "email", "tail", "trace", "test"] as const;

/**
 * The inline data plane around one app's default export (DESIGN §1), written by `isomesh gen` into
 * the app's generated entry module, which also re-exports everything else the app exports. The
 * app's code is unchanged: its `fetch` runs after the inbound stages (identity from the binding's
 * props, authentication, authorization, rate limits), as a function call in its own isolate; its
 * `env` loses the mesh's own bindings (ISOMESH_*), and each inline service it calls is a client
 * that runs that service's outbound stages here, then calls the chosen version's Worker directly.
 */
export function inlineApp(inner: unknown, config: InlineConfig): unknown {
  const mesh = AppMesh.of(config);
  if (isEntrypointClass(inner)) return meshedEntrypoint(inner, mesh, undefined);
  if (!inner || typeof inner !== "object") return inner; // nothing workerd could call either
  const app = inner as Record<string, Handler | undefined>;
  const wrapped: Record<string, unknown> = Object.create(inner);
  // A Worker with assets and no fetch handler still serves them, after the inbound half (assets.ts).
  if (typeof app.fetch === "function" || mesh.hasAssets)
    wrapped.fetch = (request: Request, env: Env, ctx: Ctx) => {
      mesh.bind(env);
      const worker =
        typeof app.fetch === "function"
          ? (w: Request) => app.fetch!.call(inner, w, mesh.appEnv(env, ctx, w), ctx) as Promise<Response>
          : undefined;
      return mesh.inbound(request, ctx, (r) => mesh.viaAssets(r, worker));
    };
  for (const name of OTHER_HANDLERS)
    if (typeof app[name] === "function")
      wrapped[name] = (event: unknown, env: Env, ctx: Ctx) => {
        mesh.bind(env);
        return app[name]!.call(inner, event, mesh.appEnv(env, ctx), ctx);
      };
  return wrapped;
}

/**
 * A named entrypoint of an inline app that callers bind (`calls: [{ service, entrypoint }]`), as
 * its callers reach it: `fetch` and every RPC method after the inbound half, as the default export's.
 * Written by `isomesh gen` beside `inlineApp` for each such entrypoint (anything else is untouched).
 */
export function inlineEntrypoint(inner: unknown, config: InlineConfig, name: string): unknown {
  return isEntrypointClass(inner) ? meshedEntrypoint(inner, AppMesh.of(config), name) : inner;
}

type AppClass = new (ctx: Ctx, env: Env) => WorkerEntrypoint & { fetch?: (r: Request) => Promise<Response> };
const isEntrypointClass = (inner: unknown): inner is AppClass =>
  typeof inner === "function" && inner.prototype instanceof WorkerEntrypoint;

/**
 * A WorkerEntrypoint class of the app, meshed: its env is the app's view (callees' clients in it),
 * its fetch runs after the inbound half, and when its service is inline every RPC method a caller
 * calls does too (workers/inline/rpc.ts).
 */
function meshedEntrypoint(App: AppClass, mesh: AppMesh, entrypoint: string | undefined) {
  const hasFetch = typeof App.prototype.fetch === "function";
  class Meshed extends App {
    constructor(ctx: Ctx, env: Env) {
      super(ctx, mesh.appEnv(env, ctx));
      mesh.bind(env);
      // Returning another object from a constructor is how the edge forwards RPC too (rpc-runtime.test.ts).
      if (mesh.inline) return rpcReceiver(this, (call, method) => mesh.inboundRpc(ctx, entrypoint, call, method));
    }
  }
  if (hasFetch)
    Object.defineProperty(Meshed.prototype, "fetch", {
      value(this: WorkerEntrypoint & { ctx: Ctx; env: Env }, request: Request) {
        return mesh.inbound(request, this.ctx, (r) =>
          mesh.viaAssets(r, (w) => {
            mesh.serving(this.env, w);
            return App.prototype.fetch!.call(this, w);
          }),
        );
      },
      writable: true,
      configurable: true,
    });
  Object.defineProperty(Meshed, "name", { value: App.name });
  return Meshed;
}

/** The named entrypoint the control plane nudges after a change (its binding: `INLINE_<worker>`). */
export function inlineControl(config: InlineConfig) {
  return class IsomeshInlineControl extends WorkerEntrypoint<Env> {
    async refreshInline() {
      const mesh = AppMesh.of(config);
      mesh.bind(this.env);
      return mesh.plane.refresh(this.ctx);
    }
  };
}

/** What the app's own env (`import { env }`, Durable Objects, ctx.exports) reaches for each inline call (loopback.ts). */
export function inlineOutbound(config: InlineConfig) {
  const mesh = AppMesh.of(config);
  return outboundEntrypoint((env, ctx, binding) => {
    mesh.bind(env);
    return mesh.client(binding, { ctx: ctx as Ctx });
  });
}

const NOT_VIA_MESH = () =>
  new MeshError(
    "not_via_mesh",
    "this worker is reached only through the mesh (the gateway, or a mesh service binding)",
    {},
    403,
  ).toResponse();

/** One app isolate's mesh: its inbound half, its callees' outbound halves, and the app's view of env. */
class AppMesh {
  private static readonly all = new Map<InlineConfig, AppMesh>();
  static of(config: InlineConfig): AppMesh {
    return AppMesh.all.get(config) ?? new AppMesh(config);
  }

  readonly plane: DataPlane;
  private env?: Env;
  private appKeys?: string[];
  private isolateId?: string;

  constructor(private readonly config: InlineConfig) {
    AppMesh.all.set(config, this);
    this.plane = new DataPlane(
      () => (this.isolateId ??= `${config.service}/${String(this.env?.VERSION ?? "?")}#${randomHex(4)}`),
      (batch) => (this.env![INLINE_CONTROL] as { report(b: unknown): Promise<ReportAnswer> }).report(batch),
      config,
    );
  }

  /** The mesh's own bindings, from the first env the runtime hands this isolate (it is the same for every request). */
  bind(env: Env): void {
    this.env ??= env;
  }

  /** The app's env for one request: its own bindings, each inline callee a mesh client bound to this request. */
  appEnv(env: Env, ctx: Ctx, serving?: Request): Env {
    this.bind(env);
    this.appKeys ??= Object.keys(env).filter((k) => !k.startsWith(INLINE_PREFIX));
    const view: Env = {};
    for (const k of this.appKeys) view[k] = env[k];
    const call: Call = { ctx, signal: serving?.signal };
    for (const binding of Object.keys(this.config.calls)) view[binding] = this.client(binding, call);
    this.calls.set(view, call);
    return view;
  }

  /** A WorkerEntrypoint's env is made before its request is known: the request it serves, once it is. */
  serving(view: Env, request: Request): void {
    const call = this.calls.get(view);
    if (call) call.signal = request.signal;
  }
  private readonly calls = new WeakMap<Env, Call>();

  /** After the inbound half: the app's own assets or its Worker, as the platform's asset router would choose (assets.ts). */
  viaAssets(request: Request, worker: ((r: Request) => Promise<Response>) | undefined): Promise<Response> {
    if (!this.hasAssets) return worker!(request);
    this.assets ??= assetsRouter(this.config.assets!);
    return this.assets(request, this.env!, worker);
  }
  private assets?: ReturnType<typeof assetsRouter>;
  /** Whether this version's own assets are served after its inbound half (`gen` made every request reach it). */
  get hasAssets(): boolean {
    return this.config.assets !== undefined && this.config.inbound !== undefined;
  }

  /** Whether this service is inline: its own inbound half runs here. */
  get inline(): boolean {
    return this.config.inbound !== undefined;
  }

  /**
   * The inbound half of a Workers RPC call, before the app's method: authorization and rate limits
   * on the callee's snapshot, the caller known only by the hidden binding's props. A refusal is
   * the mesh's Error (`isomesh rbac_denied: …`); the caller's outbound half counts it.
   */
  inboundRpc(ctx: Ctx, entrypoint: string | undefined, call: RpcInvocation, method: () => unknown): Promise<unknown> {
    const caller = ctx.props?.caller;
    if (typeof caller !== "string")
      return Promise.reject(
        callerError(
          new MeshError("not_via_mesh", "this worker is reached only through the mesh (a mesh service binding)"),
        ),
      );
    this.methods.set(call, method);
    return this.plane.call(this.inboundHalf(), call, ctx, { ...ctx.props, entrypoint });
  }

  inbound(request: Request, ctx: Ctx, handler: (r: Request) => Promise<Response>): Promise<Response> | Response {
    if (!this.config.inbound) return handler(request);
    let props = ctx.props;
    const guard = this.env![INLINE_DEV_GUARD];
    if (typeof guard === "string" && request.headers.has(DEV_GUARD_HEADER)) {
      // isomesh dev only: Miniflare's assets router drops props; the run's secret vouches for the caller header.
      const shown = request.headers.get(DEV_GUARD_HEADER) === guard;
      request = new Request(request);
      request.headers.delete(DEV_GUARD_HEADER);
      if (shown && typeof props?.caller !== "string") props = { caller: request.headers.get(H.caller) ?? undefined };
    }
    // Only a mesh binding carries props: nothing else reaches an inline app (locally, Miniflare's own socket).
    if (typeof props?.caller !== "string") return NOT_VIA_MESH();
    this.handlers.set(request, handler);
    return this.plane.fetch(this.inboundHalf(), request, ctx, props, { inbound: true });
  }

  // The pipelines are built once per snapshot; each request brings its own handler (a class instance, an env).
  private readonly handlers = new WeakMap<Request, (r: Request) => Promise<Response>>();
  private readonly methods = new WeakMap<RpcInvocation, () => unknown>();
  private readonly app = (x: Exchange): AppHandler => ({
    fetch: (request, inbound) => this.handlers.get(inbound)!(request),
    call: (call) => this.methods.get(call.invocation)!(),
  });

  private inboundHalf(): Half {
    const inbound = this.config.inbound!;
    const env = edgeEnvOf(this.env!, { ...this.config, edge: inbound.edge });
    return this.plane.half(
      `in:${inbound.edge}`,
      env,
      inbound.bootstrap,
      (s, services) => buildInbound(s, services, this.app),
      NO_BACKENDS,
      true,
      this.provider,
    );
  }

  /** CUSTOM policies' providers, through the hidden bindings gen adds (props { caller: this service, version }). */
  private readonly provider = (service: string) => {
    const binding = this.env![inlineExtAuthzBinding(service)];
    return isFetcher(binding) ? bindingTarget(binding) : undefined;
  };

  private outboundHalf(binding: string): Half {
    const callee = this.config.calls[binding]!;
    const env = edgeEnvOf(this.env!, { ...this.config, edge: callee.edge });
    return this.plane.half(
      `out:${callee.edge}`,
      env,
      callee.bootstrap,
      buildOutbound,
      calleeReach(this.env!, callee.service),
      true,
    );
  }

  client(binding: string, call: Call) {
    if (!this.config.calls[binding]) throw new Error(`${binding} is not an inline mesh call of ${this.config.service}`);
    const entrypoint = this.config.calls[binding].entrypoint;
    const props: EdgeProps = {
      caller: this.config.service,
      version: String(this.env?.VERSION ?? ""),
      ...(entrypoint ? { entrypoint } : {}),
    };
    return rpcClient(
      {
        fetch: (input: RequestInfo | URL, init?: RequestInit) => {
          // The call also ends when the request the app is serving does (its caller gave up): the
          // outbound half then records it as cancelled and cancels its try, as an edge would.
          const own = init?.signal ?? (input instanceof Request ? input.signal : undefined);
          const signal =
            !own || own === call.signal ? call.signal : call.signal ? AbortSignal.any([own, call.signal]) : own;
          const request = new Request(input, signal !== own ? { ...init, signal } : init);
          return this.plane.fetch(this.outboundHalf(binding), request, call.ctx, props, { inIsolate: true });
        },
        connect: () => {
          throw new Error(`${binding}: connect() is not supported through the inline mesh client`);
        },
      },
      // Workers RPC: the callee's outbound half here, then the picked version's method.
      (invocation: RpcInvocation) => this.plane.call(this.outboundHalf(binding), invocation, call.ctx, props),
    );
  }
}

/** An inbound half calls no backend: its last stage is the app. */
const NO_BACKENDS = () => undefined;
