import { MeshError } from "../../../shared/errors.ts";
import { externalPortDenial } from "../../../shared/routing/external-port.ts";
import type { CompiledExternal, Snapshot } from "../../../shared/snapshot/schema.ts";
import type { Stage } from "../exchange.ts";

/**
 * The egress edge's allow-list, after the route stage found the ExternalService of the URL's host:
 * only mesh apps (a binding's caller) may call out, and only on a port and scheme it declares.
 */
export const egress = (snapshot: Snapshot): Stage => {
  const byName = new Map<string, CompiledExternal>((snapshot.externals ?? []).map((e) => [e.name, e]));
  return async (x, next) => {
    if (x.caller === "external")
      throw new MeshError("egress_denied", "the egress edge only serves mesh apps (call it through the EGRESS binding)", { edge: snapshot.edge });
    const external = x.route && byName.get(x.route.route);
    if (!external) throw new MeshError("egress_denied", `no ExternalService declares host ${x.facts.host}`, { edge: snapshot.edge, host: x.facts.host });
    const denial = externalPortDenial(external, x.url);
    if (denial) throw new MeshError("egress_denied", denial, { edge: snapshot.edge, externalService: external.name });
    if (x.record.on) x.record.note("egress", `${x.url.host} allowed by ExternalService/${external.name}`, { externalService: external.name, clientCertificate: external.clientCertificate });
    return next();
  };
};
