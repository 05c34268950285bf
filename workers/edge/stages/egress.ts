import { MeshError } from "../../../shared/errors.ts";
import { egressVerdict } from "../../../shared/routing/egress-allow.ts";
import type { CompiledExternal, Snapshot } from "../../../shared/snapshot/schema.ts";
import type { Stage } from "../exchange.ts";

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
 * The egress edge's allow-list, after the route stage found the ExternalService of the URL's host:
 * only mesh apps (a binding's caller) may call out, and only on a port and scheme it declares.
 */
export const egress = (snapshot: Snapshot): Stage => {
  const byName = new Map<string, CompiledExternal>((snapshot.externals ?? []).map((e) => [e.name, e]));
  return async (x, next) => {
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
    const verdict = egressVerdict(x.route && byName.get(x.route.route), x.url, x.facts.host);
    if (!verdict.ok)
      throw new MeshError("egress_denied", verdict.reason, {
        edge: snapshot.edge,
        ...(verdict.external
          ? { externalService: verdict.external.name }
          : { host: x.facts.host, ...(x.flags.has("global_fetch") ? CAPTURED : {}) }),
      });
    const { external } = verdict;
    if (x.record.on)
      x.record.note("egress", `${x.url.host} allowed by ExternalService/${external.name}`, {
        externalService: external.name,
        clientCertificate: external.clientCertificate,
      });
    return next();
  };
};
