import { MeshError } from "../../../shared/errors.ts";
import { pickBackend } from "../../../shared/routing/split.ts";
import type { CompiledBackend, Snapshot } from "../../../shared/snapshot/schema.ts";
import type { Stage } from "../exchange.ts";

/**
 * Picks the backend among the matched rule's weighted backendRefs (or the service's default
 * backends). A backend naming the service without a version means "the default split".
 */
export const split = (snapshot: Snapshot): Stage => async (x, next) => {
  const declared: CompiledBackend[] = x.route ? x.route.backends : snapshot.defaultBackends;
  const backends = snapshot.role === "service" && declared.some((b) => !b.version) ? expandDefault(declared, snapshot) : declared;
  if (backends.length === 0)
    throw new MeshError("no_backend", "the matched rule has no backendRefs", { route: x.route?.route, rule: x.route?.rule });
  const unit = Math.random();
  const picked = pickBackend(backends, unit);
  if (!picked) throw new MeshError("no_backend", "every backendRef of the matched rule has weight 0", { route: x.route?.route, rule: x.route?.rule });
  x.backend = picked;
  if (x.record.on)
    x.record.note("split", `picked ${label(picked)}`, {
      weights: Object.fromEntries(backends.map((b) => [label(b), b.weight])),
      draw: Math.round(unit * 1000) / 1000,
    });
  return next();
};

const label = (b: CompiledBackend) => (b.version ? `${b.service}/${b.version}` : b.service);

/** Replaces a version-less backendRef by the default split, keeping its share of the weights. */
function expandDefault(declared: CompiledBackend[], snapshot: Snapshot): CompiledBackend[] {
  const defaults = snapshot.defaultBackends;
  const totalDefault = defaults.reduce((a, b) => a + b.weight, 0) || 1;
  return declared.flatMap((b) =>
    b.version ? [{ ...b, weight: b.weight * totalDefault }] : defaults.map((d) => ({ ...d, weight: b.weight * d.weight })),
  );
}
