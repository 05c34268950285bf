import { MeshError } from "../../../shared/errors.ts";
import { requestKey } from "../../../shared/routing/request-key.ts";
import { backendLabel, pickBackend, splitUnit } from "../../../shared/routing/split.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import { type Admitted, carry, type Picked, type Stage } from "../exchange.ts";
import { keyFactsOf } from "./rate-limit.ts";
import { keepsSessions, persistence } from "./session.ts";

/**
 * The split (shared/routing/split.ts): picks one of the admitted backends by weight, by a hash of
 * the sticky key when the TrafficPolicy asks for stickiness, else at random. Reads `admission`,
 * `route` and what a sticky key may name; hands on the `backend`.
 */
export const split = <T extends Admitted, R>(snapshot: Snapshot): Stage<T, Picked<T>, R> => {
  const sticky = snapshot.policy?.stickySession;
  const sessions = keepsSessions(snapshot);
  return (x, next) => {
    const backends = x.admission.backends;
    const entry = x.route.entry;
    if (backends.length === 0)
      throw new MeshError("no_backend", "the matched rule has no backendRefs", {
        route: entry?.route,
        rule: entry?.rule,
      });
    const stickyKey = sticky ? requestKey(sticky.hashOn, keyFactsOf(x)) : undefined;
    const unit = splitUnit(stickyKey);
    // A rule's session persistence (GEP-1619) keeps a client on its backend while it may take traffic.
    const session = sessions ? persistence(x, backends) : undefined;
    const picked = session?.kept ?? pickBackend(backends, unit);
    if (!picked)
      throw new MeshError("no_backend", "every backendRef of the matched rule has weight 0", {
        route: entry?.route,
        rule: entry?.rule,
      });
    x.admission.picked(picked);
    session?.picked(picked);
    if (x.record.on) {
      const weightsFrom = x.route.weightsFrom;
      x.record.note("split", `picked ${backendLabel(picked)}${weightsFrom ? `, weights set by ${weightsFrom}` : ""}`, {
        weights: Object.fromEntries(backends.map((b) => [backendLabel(b), b.weight])),
        ...(weightsFrom ? { weightsFrom } : {}),
        ...(sticky && stickyKey !== undefined
          ? { stickyKey: `${JSON.stringify(sticky.hashOn)} hashed to ${unit.toFixed(3)}` }
          : { draw: Math.round(unit * 1000) / 1000 }),
      });
    }
    return next(carry(x, "backend", picked));
  };
};
