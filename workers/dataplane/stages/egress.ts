import { MeshError } from "../../../shared/errors.ts";
import { type CompiledExternal, decideEgress, describeAllowed } from "../../../shared/routing/egress-allow.ts";
import type { RouteTable } from "../../../shared/routing/match.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import { applyTimeout } from "../deadline.ts";
import { type Authenticated, carry, type FetchExchange, type Routed, type Stage } from "../exchange.ts";

// `isomesh dev` routes apps' global fetch() here, as iptables capture does for a sidecar. Standard
// Workers cannot do that in production, where such a call would bypass the mesh: say so, once per caller.
const CAPTURED = {
  hint: "isomesh dev captured the app's global fetch(); in production it bypasses the egress edge: call env.EGRESS.fetch(url)",
};
const warned = new Set<string>();
function warnCaptured(caller: string, origin: string) {
  if (warned.has(caller) || warned.size > 100) return;
  warned.add(caller);
  console.warn(
    JSON.stringify({
      level: "warn",
      msg: `${caller} called ${origin} with the global fetch(): isomesh dev sent it through the egress edge, but in production it would bypass the mesh; call env.EGRESS.fetch(url)`,
    }),
  );
}

/**
 * The egress edge's routing and allow-list (shared/routing/egress-allow.ts): only mesh apps (a
 * binding's caller) may call out, only to a host an ExternalService declares, on a port and scheme
 * it declares. Reads `caller`, `host`, `url`; sets the deadline and hands on the `route` to it.
 */
export const egress = <T extends Authenticated<FetchExchange>>(
  snapshot: Snapshot,
  table: RouteTable,
): Stage<T, Routed<T>, Response> => {
  const byName = new Map<string, CompiledExternal>((snapshot.externals ?? []).map((e) => [e.name, e]));
  return (x, next) => {
    const d = decideEgress(table, byName, x.url, x);
    if (d.routing) {
      // Counted against its ExternalService (and given its deadline) even when refused below.
      carry(x, "route", d.routing);
      applyTimeout(x, d.routing, snapshot);
    }
    if (x.caller === "external")
      throw new MeshError(
        "egress_denied",
        "the egress edge only serves mesh apps (call it through the EGRESS binding)",
        { edge: snapshot.edge },
      );
    if (x.flags.has("global_fetch_undeclared"))
      throw new MeshError(
        "egress_denied",
        `${x.caller} called ${x.url.origin} with the global fetch, and its service does not declare egress: true`,
        { edge: snapshot.edge, ...CAPTURED },
      );
    if (x.flags.has("global_fetch")) warnCaptured(x.caller, x.url.origin);
    if (!d.ok)
      throw new MeshError("egress_denied", d.reason, {
        edge: snapshot.edge,
        ...(d.external
          ? { externalService: d.external.name }
          : { host: x.host, ...(x.flags.has("global_fetch") ? CAPTURED : {}) }),
      });
    if (x.record.on) x.record.add(describeAllowed(x.url, d.external));
    return next(carry(x, "route", d.routing));
  };
};
