import { MeshError } from "../../../shared/errors.ts";
import {
  type AuthzDecision,
  type AuthzRequest,
  authorize as decide,
  describeAuthz,
  requestOf,
  rpcRequestOf,
} from "../../../shared/security/authorize.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import type { Authenticated, Exchange, Stage } from "../exchange.ts";

/**
 * AuthorizationPolicy (Istio semantics; shared/security/authorize.ts): DENY first, then ALLOW if any
 * ALLOW targets this workload. A fetch is judged on its caller, end user, method, path, host and
 * headers; a Workers RPC call on its caller and method (`rpcMethods`). Reads `caller`, `identity`
 * and the request.
 */
export const authorize = <T extends Authenticated, R>(snapshot: Snapshot): Stage<T, T, R> => {
  const authz = snapshot.authz;
  const service = snapshot.service ?? snapshot.edge;
  if (!authz)
    return (x, next) => {
      if (x.record.on) {
        const r = authzRequest(x);
        x.record.add(describeAuthz(decide(undefined, r), r));
      }
      return next(x);
    };
  return (x, next) => {
    const r = authzRequest(x);
    const d = decide(authz, r);
    if (d.audited?.length) x.flags.add("audited");
    if (x.record.on) x.record.add(describeAuthz(d, r));
    if (!d.allowed) {
      x.flags.add("denied");
      const by = deniedBy(d);
      throw new MeshError(
        "rbac_denied",
        x.kind === "rpc"
          ? `${x.caller} may not call ${service}.${x.call.fullName}: denied by ${by}`
          : `denied by ${by}`,
        { policy: d.policy, ...(d.rule !== undefined ? { rule: d.rule } : {}) },
      );
    }
    return next(x);
  };
};

const authzRequest = (x: Authenticated<Exchange>): AuthzRequest =>
  x.kind === "rpc" ? rpcRequestOf(x.caller, x.call) : requestOf(x.caller, x.identity, x);

const deniedBy = (d: Extract<AuthzDecision, { allowed: false }>) =>
  Array.isArray(d.policy) ? "default deny (no ALLOW policy matched)" : `AuthorizationPolicy/${d.policy}`;
