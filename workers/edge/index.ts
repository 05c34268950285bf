import { WorkerEntrypoint } from "cloudflare:workers";
import type { EdgeReport } from "../../shared/control-api.ts";
import { CONTROL, extAuthzBinding, GATEWAY, serviceBinding, versionBinding } from "../../shared/names.ts";
import type { CompiledBackend } from "../../shared/routing/split.ts";
import type { Snapshot } from "../../shared/snapshot/schema.ts";
import { type EdgeEnv, type EdgeProps, isFetcher } from "../dataplane/env.ts";
import { buildEdge } from "../dataplane/pipelines.ts";
import { DataPlane, type Half } from "../dataplane/plane.ts";
import type { RpcInvocation } from "../dataplane/rpc/invocation.ts";
import { randomHex } from "../dataplane/trace.ts";
import { bindingTarget, type Target } from "../dataplane/upstream.ts";
import bootstrap from "./bootstrap.snapshot";
import inlineSnapshots from "./inline.snapshot";
import { externalTarget } from "./external.ts";
import { inlineCallees } from "./inline-callees.ts";
import { forwardRpc } from "./rpc-forwarding.ts";

// The edge host: a thin shell over the data plane (workers/dataplane). Deployed once per service
// (`<svc>-edge`), once as the `gateway`, and as the `egress` edge; per isolate, one DataPlane.

let isolateId: string | undefined; // random values are only allowed inside handlers
const isolate = () => (isolateId ??= randomHex(6));
let edge: { plane: DataPlane; own: Half } | undefined;

function edgeOf(env: EdgeEnv): { plane: DataPlane; own: Half } {
  if (edge) return edge;
  const plane = new DataPlane(isolate, (batch) => env.CONTROL.report(batch), {
    accessLog: env.ACCESS_LOG,
    traceSampling: env.TRACE_SAMPLING,
  });
  const inline = inlineCallees(plane, env, JSON.parse(inlineSnapshots || "[]"));
  const reach = (backend: CompiledBackend, snapshot: Snapshot): Target | undefined => {
    if (snapshot.role === "egress") return externalTarget(env, snapshot, backend);
    const name = snapshot.role === "gateway" ? serviceBinding(backend.service) : versionBinding(backend.version ?? "");
    const inlined = inline.get(name);
    if (snapshot.role === "gateway" && inlined) return inlined;
    const binding = env[name];
    return isFetcher(binding)
      ? bindingTarget(binding, (ep) => env[versionBinding(backend.version ?? "", ep)])
      : undefined;
  };
  // CUSTOM policies' providers: the gateway asks through its binding to each service, a service edge through its own.
  const provider = (service: string): Target | undefined => {
    const name = env.EDGE_NAME === GATEWAY ? serviceBinding(service) : extAuthzBinding(service);
    const binding = env[name];
    return inline.get(name) ?? (isFetcher(binding) ? bindingTarget(binding) : undefined);
  };
  const own = plane.half(`edge:${env.EDGE_NAME}`, env, bootstrap, buildEdge, reach, false, provider);
  return (edge = { plane, own });
}

/**
 * The isomesh edge. Callers reach it through service bindings whose props say who they are.
 * Besides `fetch`, every method a caller calls on its binding (Workers RPC) goes through the mesh
 * to the picked version: nothing else may live on this class, since its methods share the apps' names.
 */
export default class Edge extends WorkerEntrypoint<EdgeEnv, EdgeProps> {
  override fetch(request: Request): Promise<Response> {
    const { plane, own } = edgeOf(this.env);
    return plane.fetch(own, request, this.ctx, this.ctx.props);
  }

  /** A Workers RPC call on the binding: the service's RPC path (RPC_PIPELINE), then the picked version's method. */
  static rpc(edge: Edge, call: RpcInvocation): Promise<unknown> {
    const { plane, own } = edgeOf(edge.env);
    return plane.call(own, call, edge.ctx, edge.ctx.props);
  }
}
forwardRpc(Edge, Edge.rpc);

/** The control plane's way in (its bindings name this entrypoint): the default one belongs to the apps' methods. */
export class EdgeControl extends WorkerEntrypoint<EdgeEnv, EdgeProps> {
  /** Control-plane nudge for an inline service's change: the snapshots of inline callees this gateway holds. */
  async refreshInline(): Promise<EdgeReport[]> {
    if (this.ctx.props?.caller !== CONTROL) throw new Error("isomesh not_via_mesh: refresh() is the control plane's");
    const { plane } = edgeOf(this.env);
    const reports = await plane.refresh(this.ctx, (key) => key.startsWith("out:"));
    return reports.filter((r) => r.edge !== this.env.EDGE_NAME);
  }

  /** Control-plane nudge after a change: re-read the beacon now and report what runs. */
  async refresh(): Promise<EdgeReport> {
    if (this.ctx.props?.caller !== CONTROL) throw new Error("isomesh not_via_mesh: refresh() is the control plane's");
    const { plane, own } = edgeOf(this.env);
    if (!own.snapshot) await own.get(this.ctx);
    await own.check(true);
    await plane.refresh(this.ctx, () => false); // flushes telemetry: the report lands before this answers
    return own.report(isolate());
  }
}
