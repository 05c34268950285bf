import { MeshError } from "../../../shared/errors.ts";
import type { Routing } from "../../../shared/routing/match.ts";
import { backendLabel, type CompiledBackend } from "../../../shared/routing/split.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import { type Admission, type Admitted, carry, type Routed, type Stage } from "../exchange.ts";
import type { ResilienceState } from "../resilience/state.ts";

const noop = () => {};

/**
 * Outlier detection (shared/resilience/outlier-detection.ts): the split only sees the routing's
 * backends that are not ejected (a half-open one is offered to one request, the probe); the retry
 * loop reports each try's status back. Without a policy every backend is admitted. Reads `route`;
 * hands on the `admission`.
 */
export const outlier = <T extends Routed, R>(snapshot: Snapshot, state: ResilienceState): Stage<T, Admitted<T>, R> => {
  const policy = snapshot.policy;
  const detector = policy?.outlierDetection && state.outliers(snapshot.edge, policy.outlierDetection);
  const everyone = new WeakMap<Routing, Admission>(); // one per route entry: nothing allocated per request
  const all = (r: Routing) => {
    let a = everyone.get(r);
    if (!a) everyone.set(r, (a = { backends: r.backends, picked: noop, tried: noop }));
    return a;
  };
  if (!policy || !detector) return (x, next) => next(carry(x, "admission", all(x.route)));
  return (x, next) => {
    const backends = x.route.backends;
    const labels = backends.filter((b) => b.weight > 0).map(backendLabel);
    if (labels.length === 0) return next(carry(x, "admission", all(x.route))); // the split answers no_backend
    const now = Date.now();
    const { usable, open, probing } = detector.available(labels, now);
    if (usable.length === 0) {
      x.flags.add("circuit_open");
      throw new MeshError("circuit_open", `every backend is ejected by outlier detection: ${open.join(", ")}`, {
        policy: policy.name,
        ejected: open,
      });
    }
    if (open.length && x.record.on)
      x.record.note("circuit", `skipped ejected ${open.join(", ")}`, { policy: policy.name });
    const names = backends.map(backendLabel);
    const admission: Admission = {
      backends: open.length ? backends.filter((b) => usable.includes(backendLabel(b))) : backends,
      picked(b: CompiledBackend) {
        if (probing === undefined || backendLabel(b) !== probing) return;
        detector.startProbe(probing);
        if (x.record.on) x.record.note("circuit", `half-open: this request probes ${probing}`, { policy: policy.name });
      },
      tried: (b, status) => detector.record(backendLabel(b), status, Date.now(), names),
    };
    return next(carry(x, "admission", admission));
  };
};
