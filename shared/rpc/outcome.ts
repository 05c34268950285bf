import { MeshError } from "../errors.ts";

// How the mesh counts the end of a Workers RPC call, in the status codes its metrics, spans and
// access logs use for fetch (Istio counts gRPC the same way, with HTTP codes beside grpc-status):
// a returned value is 200; an exception the callee threw is 500 (an application error, as a
// handler that answers 500); a call the binding itself could not make is 502; the mesh's own
// refusals carry their code's status (403 rbac_denied, 429 rate_limited, 504 upstream_timeout, …).

export const RPC_OK = 200;
export const RPC_APP_ERROR = 500;

/** workerd's own TypeError for a method the callee's entrypoint lacks (see test/workers/rpc-runtime.test.ts). */
const NOT_IMPLEMENTED = /^The RPC receiver does not implement the method "([^"]*)"\.?$/;

/** The status an RPC call that threw is counted with. */
export function rpcErrorStatus(e: unknown): number {
  if (e instanceof MeshError) return e.status;
  if (notImplemented(e)) return 404;
  // workerd marks what crossed a binding from the callee with `remote`; the rest failed on the way.
  return (e as { remote?: unknown } | null)?.remote === true ? RPC_APP_ERROR : 502;
}

/** The method named by workerd's "does not implement the method" error, if that is what `e` is. */
export function notImplemented(e: unknown): string | undefined {
  return e instanceof TypeError ? NOT_IMPLEMENTED.exec(e.message)?.[1] : undefined;
}

/**
 * What a caller of an RPC method gets when the mesh refuses or fails its call: an Error whose
 * message starts with the code users search for (`isomesh rbac_denied: …`). Only the message and
 * a built-in class cross a binding (own properties are lost), so the code lives in the message;
 * a missing method is a TypeError, as workerd's own error is.
 */
export function callerError(e: MeshError): Error {
  const message = `isomesh ${e.code}: ${e.message}`;
  return e.code === "no_method" ? new TypeError(message) : new Error(message);
}

// The refusals of an inline callee's inbound half (workers/inline/rpc.ts): they cross the binding as
// callerError made them, and the caller's outbound half counts them with their code's status.
const INBOUND_REFUSAL = /^isomesh (rbac_denied|rate_limited|not_via_mesh): ([\s\S]*)$/;

/** The mesh's refusal an inline callee's inbound half threw, if that is what crossed the binding. */
export function inboundRefusal(e: unknown): MeshError | undefined {
  if (!(e instanceof Error) || (e as { remote?: unknown }).remote !== true) return undefined;
  const m = INBOUND_REFUSAL.exec(e.message);
  return m ? new MeshError(m[1] as "rbac_denied" | "rate_limited" | "not_via_mesh", m[2]!) : undefined;
}
