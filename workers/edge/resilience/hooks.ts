import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import type { Exchange } from "../exchange.ts";
import type { ForwardHooks } from "../stages/forward.ts";
import { backendLabel } from "../stages/split.ts";
import type { ResilienceState } from "./state.ts";

const DEFAULT_BUDGET = { percent: 20, minRetriesPerSecond: 10 };

/**
 * Connects the retry loop to this isolate's resilience state: a retry budget per destination
 * (the TrafficPolicy's, else 20% + 10/s) and outlier detection per backend.
 */
export function forwardHooks(snapshot: Snapshot, state: ResilienceState): ForwardHooks {
  const budgetConfig = snapshot.policy?.retryBudget ?? DEFAULT_BUDGET;
  const outliers = snapshot.policy?.outlierDetection && state.outliers(snapshot.edge, snapshot.policy.outlierDetection);
  const budgetOf = (x: Exchange) => state.budget(`${snapshot.edge}|${x.backend!.service}`, budgetConfig);
  const all = (x: Exchange) => (x.route ? x.route.backends : snapshot.defaultBackends).map(backendLabel);
  return {
    onRequest: (x) => budgetOf(x).onRequest(Date.now()),
    allowRetry: (x) => budgetOf(x).tryRetry(Date.now()),
    onTry: (x, status) => outliers?.record(backendLabel(x.backend!), status, Date.now(), all(x)),
  };
}
