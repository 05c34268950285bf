import { MeshError } from "../../../shared/errors.ts";
import { authorize as decide, describeAuthz, requestOf } from "../../../shared/security/authorize.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import type { Authenticated, PassStage } from "../exchange.ts";

/** AuthorizationPolicy (Istio semantics; shared/security/authorize.ts): DENY first, then ALLOW if any ALLOW targets this workload. Reads `facts`, `caller`, `identity`. */
export const authorize = (snapshot: Snapshot): PassStage<Authenticated> => {
  const authz = snapshot.authz;
  if (!authz)
    return (x, next) => {
      if (x.record.on) {
        const r = requestOf(x.caller, x.identity, x.facts);
        x.record.add(describeAuthz(decide(undefined, r), r));
      }
      return next(x);
    };
  return async (x, next) => {
    const r = requestOf(x.caller, x.identity, x.facts);
    const d = decide(authz, r);
    if (d.audited?.length) x.flags.add("audited");
    if (x.record.on) x.record.add(describeAuthz(d, r));
    if (!d.allowed) {
      x.flags.add("denied");
      throw new MeshError(
        "rbac_denied",
        `denied by ${Array.isArray(d.policy) ? "default deny (no ALLOW policy matched)" : `AuthorizationPolicy/${d.policy}`}`,
        {
          policy: d.policy,
          ...(d.rule !== undefined ? { rule: d.rule } : {}),
        },
      );
    }
    return next(x);
  };
};
