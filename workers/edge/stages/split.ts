import { MeshError } from "../../../shared/errors.ts";
import { hashUnit, pickBackend } from "../../../shared/routing/split.ts";
import type { CompiledBackend, Snapshot } from "../../../shared/snapshot/schema.ts";
import type { Stage } from "../exchange.ts";
import type { ResilienceState } from "../resilience/state.ts";
import { keyOf } from "./rate-limit.ts";

export const backendLabel = (b: CompiledBackend) => (b.version ? `${b.service}/${b.version}` : b.service);

/**
 * Picks the backend among the matched rule's weighted backendRefs (or the service's default
 * backends): by a hash of the sticky key when the TrafficPolicy asks for stickiness, else at
 * random; backends ejected by outlier detection are skipped. A backend naming the service without
 * a version means "the default split" (equal, or a Rollout's weights).
 */
export const split = (snapshot: Snapshot, state: ResilienceState): Stage => {
  const policy = snapshot.policy;
  const outliers = policy?.outlierDetection && state.outliers(snapshot.edge, policy.outlierDetection);
  return async (x, next) => {
    const declared: CompiledBackend[] = x.route ? x.route.backends : snapshot.defaultBackends;
    let backends =
      snapshot.role === "service" && declared.some((b) => !b.version) ? expandDefault(declared, snapshot) : declared;
    if (backends.length === 0)
      throw new MeshError("no_backend", "the matched rule has no backendRefs", {
        route: x.route?.route,
        rule: x.route?.rule,
      });
    if (backends.every((b) => b.weight === 0))
      throw new MeshError("no_backend", "every backendRef of the matched rule has weight 0", {
        route: x.route?.route,
        rule: x.route?.rule,
      });

    let probe: string | undefined;
    if (outliers) {
      const candidates = backends.filter((b) => b.weight > 0).map(backendLabel);
      const { usable, open, probing } = outliers.available(candidates, Date.now());
      if (usable.length === 0) {
        x.flags.add("circuit_open");
        throw new MeshError("circuit_open", `every backend is ejected by outlier detection: ${open.join(", ")}`, {
          policy: policy!.name,
          ejected: open,
        });
      }
      if (open.length) {
        backends = backends.filter((b) => usable.includes(backendLabel(b)));
        if (x.record.on) x.record.note("circuit", `skipped ejected ${open.join(", ")}`, { policy: policy!.name });
      }
      probe = probing;
    }

    const stickyKey = policy?.stickySession ? keyOf(policy.stickySession.hashOn, x) : undefined;
    const unit = stickyKey !== undefined ? hashUnit(stickyKey) : Math.random();
    const picked = pickBackend(backends, unit)!;
    x.backend = picked;
    if (probe === backendLabel(picked)) {
      outliers!.startProbe(probe);
      if (x.record.on) x.record.note("circuit", `half-open: this request probes ${probe}`, { policy: policy!.name });
    }
    if (x.record.on) {
      const weightsFrom = x.route ? x.route.weightsFrom : snapshot.defaultSource;
      x.record.note("split", `picked ${backendLabel(picked)}${weightsFrom ? `, weights set by ${weightsFrom}` : ""}`, {
        weights: Object.fromEntries(backends.map((b) => [backendLabel(b), b.weight])),
        ...(weightsFrom ? { weightsFrom } : {}),
        ...(stickyKey !== undefined
          ? { stickyKey: `${JSON.stringify(policy!.stickySession!.hashOn)} hashed to ${unit.toFixed(3)}` }
          : { draw: Math.round(unit * 1000) / 1000 }),
      });
    }
    return next();
  };
};

/** Replaces a version-less backendRef by the default split, keeping its share of the weights. */
function expandDefault(declared: CompiledBackend[], snapshot: Snapshot): CompiledBackend[] {
  const defaults = snapshot.defaultBackends;
  const totalDefault = defaults.reduce((a, b) => a + b.weight, 0) || 1;
  return declared.flatMap((b) =>
    b.version
      ? [{ ...b, weight: b.weight * totalDefault }]
      : defaults.map((d) => ({ ...d, weight: b.weight * d.weight })),
  );
}
