import { MeshError } from "../../../shared/errors.ts";
import { limitScope, retryAfterSeconds } from "../../../shared/ratelimit/rate-limit.ts";
import type { KeyFacts } from "../../../shared/routing/request-key.ts";
import type { RpcTarget } from "../../../shared/rpc/match.ts";
import { authorize, rpcRequestOf } from "../../../shared/security/authorize.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import type { Flag } from "../../../shared/telemetry/flags.ts";
import type { EdgeServices } from "../pipeline.ts";

// The steps of a Workers RPC call that only the callee's side can be trusted with (the `inbound`
// half of shared/pipeline.ts): a service edge runs them in its RPC path, an inline callee's
// isolate before its app's method (workers/inline/rpc.ts). Both throw the mesh's MeshError.

/** authz: the callee's policies over (caller, entrypoint.method), as for a fetch. */
export function authorizeRpc(snapshot: Snapshot, caller: string, call: RpcTarget, flags: Set<Flag>): void {
  if (!snapshot.authz) return;
  const d = authorize(snapshot.authz, rpcRequestOf(caller, call));
  if (d.audited?.length) flags.add("audited");
  if (d.allowed) return;
  flags.add("denied");
  const service = snapshot.service ?? snapshot.edge;
  throw new MeshError(
    "rbac_denied",
    `${caller} may not call ${service}.${call.fullName}: denied by ${Array.isArray(d.policy) ? "default deny (no ALLOW policy matched)" : `AuthorizationPolicy/${d.policy}`}`,
    { policy: d.policy },
  );
}

/** ratelimit: every limit of the callee's policy counts the call (global limits fail open, as for fetch). */
export async function rateLimitRpc(
  snapshot: Snapshot,
  s: Pick<EdgeServices, "globalLimiter" | "resilience">,
  keyFacts: KeyFacts,
  flags: Set<Flag>,
): Promise<void> {
  const policy = snapshot.policy;
  if (!policy) return;
  for (const [i, l] of policy.rateLimits.entries()) {
    const { scope } = limitScope(snapshot.edge, policy.name, i, l, keyFacts);
    const verdict =
      l.mode === "global" && s.globalLimiter
        ? await s.globalLimiter(scope, l.requests, l.per).catch(() => ({ ok: true, retryAfterMs: 0 }))
        : s.resilience.bucket(scope, l.requests, l.per, Date.now()).take(Date.now());
    if (!verdict.ok) {
      flags.add("rate_limited");
      throw new MeshError(
        "rate_limited",
        `rate limit ${l.requests} per ${l.per} ms exceeded (retry after ${retryAfterSeconds(verdict.retryAfterMs)} s)`,
        { policy: policy.name, rule: i },
        429,
      );
    }
  }
}
