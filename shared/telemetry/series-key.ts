import type { MetricSeries } from "../control-api.ts";

/** What makes a series one: the labels an edge and the control plane merge counters under. */
export const seriesKey = (
  s: Pick<MetricSeries, "reporter" | "source" | "destination" | "version" | "route" | "code" | "mirror" | "method">,
): string =>
  `${s.reporter}|${s.source}|${s.destination}|${s.version}|${s.route}|${s.code}${s.mirror ? "|mirror" : ""}${s.method !== undefined ? `|rpc:${s.method}` : ""}`;
