import { hashUnit } from "../routing/split.ts";

/**
 * Telemetry collectors (docs/observability.md#at-internet-scale): every isolate of an edge reports
 * to one of that edge's collectors, chosen by a hash of the isolate's id, so one object never
 * hears from more than its share of the edge's isolates and an isolate always reports to the same
 * one (its status is counted once).
 */
export const DEFAULT_COLLECTORS = 32;
const MAX_COLLECTORS = 1024;

/** The collector count a control worker runs with (its TELEMETRY_COLLECTORS var), within 1..1024. */
export function collectorCount(setting: string | undefined): number {
  const n = Number(setting);
  return setting && Number.isInteger(n) && n >= 1 ? Math.min(n, MAX_COLLECTORS) : DEFAULT_COLLECTORS;
}

/** The name of the collector an isolate of `edge` reports to. */
export const collectorName = (edge: string, isolate: string, collectors: number): string =>
  `collector:${edge}:${Math.floor(hashUnit(isolate) * collectors)}`;
