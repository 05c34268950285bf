import { MeshError } from "../../../shared/errors.ts";
import { versionBinding } from "../../../shared/names.ts";
import { pickBackend } from "../../../shared/routing/split.ts";
import { tryRpc } from "../../../shared/rpc/attempts.ts";
import { fullMethodName } from "../../../shared/rpc/method.ts";
import { callerError, notImplemented } from "../../../shared/rpc/outcome.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import type { EdgeProps } from "../env.ts";
import type { EdgeServices } from "../pipeline.ts";
import type { RpcInvocation } from "./entrypoint.ts";

/** One Workers RPC call crossing a service edge, handed its context by the entrypoint. */
export type RpcPipeline = (
  call: RpcInvocation,
  ctx: ExecutionContext,
  props: EdgeProps | undefined,
) => Promise<unknown>;

type Stub = Record<string, unknown>;

/**
 * A service edge's RPC path, built once per snapshot like the fetch pipeline. (Until the edge's
 * decisions are shared modules, issue 19, this sends every call to the service's default split.)
 */
export function buildRpcPipeline(snapshot: Snapshot, s: EdgeServices): RpcPipeline {
  const service = snapshot.service ?? snapshot.edge;
  const stubs = new Map<string, Stub | undefined>();
  const stubOf = (version: string, entrypoint: string | undefined) => {
    const name = versionBinding(version, entrypoint);
    if (!stubs.has(name)) stubs.set(name, s.env[name] as Stub | undefined);
    return stubs.get(name);
  };
  return async (call, ctx, props) => {
    const startedAt = Date.now();
    const caller = props?.caller ?? "external";
    const entrypoint = props?.entrypoint;
    const name = fullMethodName(entrypoint, call.method);
    let status = 200;
    let version = "unknown";
    try {
      if (snapshot.role !== "service" || !props?.caller)
        throw new MeshError(
          "no_route",
          `Workers RPC reaches a service through its binding (calls: in the manifest), not ${snapshot.edge}`,
        );
      const backend = pickBackend(snapshot.defaultBackends, Math.random());
      if (!backend?.version) throw new MeshError("no_backend", `${service} has no version to call`);
      version = backend.version;
      const stub = stubOf(version, entrypoint);
      if (!stub)
        throw new MeshError(
          "no_backend",
          `${snapshot.edge} has no binding to ${service}/${version}${entrypoint ? ` entrypoint ${entrypoint}` : ""}`,
        );
      const label = `${service}/${version}`;
      const send = () =>
        "read" in call
          ? Promise.resolve(stub[call.method])
          : (stub[call.method] as (...a: unknown[]) => Promise<unknown>)(...call.args);
      const tried = await tryRpc(
        send,
        { retries: 0, retryOn: [], backoffMs: 25 },
        { onTry: () => {}, allowRetry: () => false },
        label,
      );
      if (tried.ok) return tried.value;
      status = tried.status;
      if (notImplemented(tried.error) === call.method)
        throw new MeshError("no_method", `${label} does not implement the RPC method "${name}"`, { backend: label });
      throw tried.error;
    } catch (e) {
      if (e instanceof MeshError) {
        status = e.status;
        throw callerError(e);
      }
      throw e;
    } finally {
      s.recorder.observe({
        reporter: snapshot.edge,
        source: caller,
        destination: service,
        version,
        route: "default",
        code: status,
        durationMs: Date.now() - startedAt,
        retries: 0,
        flags: new Set(),
      });
      s.flush(ctx);
    }
  };
}
