import type { CompiledRoute } from "../routing/routes.ts";
import type { Snapshot } from "./schema.ts";

/** One rule of a service's configured split: what it matches, and each version's share in percent. */
export type ConfiguredRule = { source: string; match: string; weights: { version: string; percent: number }[] };

/** A match as one short line (`end-user: jason`, `/api*`, `GET`), or "" for "every request". */
function describeMatch(r: CompiledRoute): string {
  const parts: string[] = [];
  if (!(r.path.type === "PathPrefix" && r.path.value === "/"))
    parts.push(
      r.path.type === "Exact" ? r.path.value : r.path.type === "PathPrefix" ? `${r.path.value}*` : `~${r.path.value}`,
    );
  if (r.method) parts.push(r.method);
  for (const h of r.headers) parts.push(`${h.name}${h.type === "RegularExpression" ? " ~ " : ": "}${h.value}`);
  for (const q of r.queryParams) parts.push(`?${q.name}${q.type === "RegularExpression" ? "~" : "="}${q.value}`);
  return parts.join(", ");
}

const percents = (backends: { version?: string; weight: number }[]) => {
  const total = backends.reduce((a, b) => a + b.weight, 0);
  return backends.map((b) => ({
    version: b.version ?? "?",
    percent: total ? Math.round((b.weight / total) * 1000) / 10 : 0,
  }));
};

/**
 * The weights a service edge runs, read from its compiled snapshot (what the edge itself uses, so
 * the dashboard cannot show a split the edge does not make): one entry per rule in precedence
 * order, then the default (no route matched: an equal split, or a Rollout's weights). A rule is
 * named by its index in the YAML (`rule 1` is `spec.rules[1]`), as errors, explain and analyze name it.
 */
export function configuredSplit(snapshot: Snapshot): ConfiguredRule[] {
  const rules: ConfiguredRule[] = [];
  const seen = new Set<string>();
  for (const vhost of snapshot.vhosts)
    for (const r of vhost.routes) {
      const id = `${r.route}#${r.rule}`;
      const match = [vhost.hostnames.length ? `host ${vhost.hostnames.join(" | ")}` : "", describeMatch(r)]
        .filter(Boolean)
        .join(", ");
      const existing = rules.find((x) => x.source === `HTTPRoute/${r.route} rule ${r.rule}`);
      if (seen.has(id) && existing) {
        if (match && !existing.match.split(" or ").includes(match))
          existing.match = existing.match ? `${existing.match} or ${match}` : match;
        continue;
      }
      seen.add(id);
      rules.push({ source: `HTTPRoute/${r.route} rule ${r.rule}`, match, weights: percents(r.backends) });
    }
  const catchAll = rules.some((r) => r.match === "");
  if (!catchAll)
    rules.push({
      source: snapshot.defaultSource ?? "default (no route)",
      match: "",
      weights: percents(snapshot.defaultBackends),
    });
  return rules;
}
