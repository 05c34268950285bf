import { MeshError } from "../../../shared/errors.ts";
import { authorize as decide } from "../../../shared/security/authorize.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import type { Stage } from "../exchange.ts";

/** AuthorizationPolicy (Istio semantics): DENY first, then ALLOW if any ALLOW targets this workload. */
export const authorize = (snapshot: Snapshot): Stage => {
  const authz = snapshot.authz;
  if (!authz)
    return (x, next) => {
      if (x.record.on)
        x.record.note("authz", "allowed: no AuthorizationPolicy targets this workload", {
          caller: x.caller,
          principal: x.principal,
        });
      return next();
    };
  return async (x, next) => {
    const d = decide(authz, {
      caller: x.caller,
      requestPrincipal: x.principal,
      claims: x.claims,
      method: x.inbound.method,
      path: x.url.pathname,
      host: x.facts.host,
      headers: x.upstreamHeaders,
    });
    if (d.audited?.length) x.flags.add("audited");
    if (x.record.on)
      x.record.note("authz", d.reason, { policy: d.policy, rule: d.rule, caller: x.caller, principal: x.principal });
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
    return next();
  };
};
