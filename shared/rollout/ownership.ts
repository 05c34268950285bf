import type { Rollout, RolloutStatus } from "../resources/rollout.ts";
import type { CompiledBackend } from "../routing/split.ts";
import { canaryWeight } from "./decide.ts";

/** Who decides a split, in explanations: `Rollout/reviews-v3 (v3 at 10%)`. Status words stay out: only weights reach edges. */
export const rolloutSource = (r: Rollout, status: RolloutStatus) =>
  `Rollout/${r.metadata.name} (${r.spec.canary} at ${canaryWeight(status)}%)`;

/**
 * A route rule's backends under a Rollout of its service. While a Rollout runs it owns the split
 * between its stable and canary versions (as Flagger owns its VirtualService): in a rule that
 * sends to the stable version, the share the rule gives stable and canary together is divided by
 * the rollout's weights, and other versions keep theirs. A version-less backendRef follows the
 * service's default split, which the Rollout sets. A rule that does not send to the stable
 * version (one that pins testers to a version, say) is left as written: undefined.
 */
export function splitByRollout(
  backends: CompiledBackend[],
  spec: Rollout["spec"],
  status: RolloutStatus,
): CompiledBackend[] | undefined {
  const owned = (b: CompiledBackend) => b.version === spec.stable || b.version === spec.canary;
  const stable = backends.find((b) => b.version === spec.stable);
  if (!stable) return backends.some((b) => !b.version) ? backends : undefined;
  const share = backends.filter(owned).reduce((a, b) => a + b.weight, 0);
  const canary = canaryWeight(status);
  const canaryRef = backends.find((b) => b.version === spec.canary);
  const pair = [
    { ...stable, weight: share * (100 - canary) },
    { ...(canaryRef ?? { service: stable.service }), version: spec.canary, weight: share * canary },
  ];
  const scaled = (b: CompiledBackend) => ({ ...b, weight: b.weight * 100 }); // the rollout's percentages stay integers
  const first = backends.findIndex(owned);
  return [
    ...backends.slice(0, first).map(scaled),
    ...pair,
    ...backends
      .slice(first + 1)
      .filter((b) => !owned(b))
      .map(scaled),
  ];
}
