import type { HTTPRoute } from "../resources/http-route.ts";
import type { Resource } from "../resources/index.ts";
import type { ResourceIssue } from "../resources/issues.ts";

const parentKey = (p: { kind: string; name: string }) => `${p.kind}/${p.name}`;
const matchKey = (host: string, m: HTTPRoute["spec"]["rules"][number]["matches"][number]) =>
  JSON.stringify([
    host,
    m.path,
    m.method ?? null,
    [...m.headers].sort((a, b) => a.name.localeCompare(b.name)),
    [...m.queryParams].sort((a, b) => a.name.localeCompare(b.name)),
    m.rpc ?? null, // an RPC match selects calls no fetch match does: a rule of its own, not a shadow
  ]);

/** Warns when two rules on the same parent and host have identical matches: only one can ever win. Rules are named by their index in the YAML (`rule 0` is `spec.rules[0]`), as everywhere. */
export function checkShadowing(resources: Resource[]): ResourceIssue[] {
  const seen = new Map<string, string>();
  const warnings: ResourceIssue[] = [];
  for (const r of resources) {
    if (r.kind !== "HTTPRoute") continue;
    const hosts = r.spec.hostnames.length ? r.spec.hostnames : ["*"];
    r.spec.rules.forEach((rule, i) =>
      rule.matches.forEach((m, j) => {
        for (const p of r.spec.parentRefs)
          for (const h of hosts) {
            const key = `${parentKey(p)}|${matchKey(h, m)}`;
            const where = `HTTPRoute/${r.metadata.name} rule ${i}`;
            const first = seen.get(key);
            if (first && first !== where)
              warnings.push({
                resource: `HTTPRoute/${r.metadata.name}`,
                path: `spec.rules[${i}].matches[${j}]`,
                message: `same match as ${first} on ${parentKey(p)}: only one of them can ever be selected`,
              });
            else seen.set(key, where);
          }
      }),
    );
  }
  return warnings;
}
