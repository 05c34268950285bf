import type { Topology } from "../manifest/topology.ts";
import { compileRegex } from "../regex/compile.ts";
import { linearMatcher } from "../regex/linear-matcher.ts";
import type { Resource } from "../resources/index.ts";
import type { ResourceIssue } from "../resources/issues.ts";
import { exportedMethodNames } from "../rpc/exports.ts";
import { parseMethodName } from "../rpc/method.ts";
import { valueMatches } from "../security/authorize.ts";

/**
 * Resources that name Workers RPC methods no version of their service exports (a typo, a method
 * renamed in the app): they would never match. Knowable only for services whose every version's
 * exports were read from its build (scripts/lib/app-exports.ts); the others are skipped.
 */
export function checkRpcMethods(topology: Topology, resources: Resource[]): ResourceIssue[] {
  const warnings: ResourceIssue[] = [];
  const exported = new Map<string, Set<string> | undefined>(
    topology.services.map((s) => [s.name, exportedMethodNames(s.exports, s.versions)]),
  );
  const check = (resource: string, service: string, path: string, patterns: string[] | undefined) =>
    patterns?.forEach((p, i) => {
      const names = exported.get(service);
      if (!names || [...names].some((n) => valueMatches(p, n))) return;
      warnings.push({
        resource,
        path: `${path}[${i}]`,
        message: `no version of ${service} exports an RPC method matching "${p}" (${describe(names)})`,
      });
    });
  for (const r of resources) {
    const id = `${r.kind}/${r.metadata.name}`;
    if (r.kind === "AuthorizationPolicy" || r.kind === "TrafficPolicy") {
      for (const t of r.spec.targetRefs) {
        if (t.kind !== "Service") continue;
        if (r.kind === "AuthorizationPolicy")
          r.spec.rules.forEach((rule, i) =>
            rule.to?.forEach(({ operation: o }, j) => {
              check(id, t.name, `spec.rules[${i}].to[${j}].operation.rpcMethods`, o.rpcMethods);
              check(id, t.name, `spec.rules[${i}].to[${j}].operation.notRpcMethods`, o.notRpcMethods);
            }),
          );
        else {
          check(id, t.name, "spec.idempotentMethods", r.spec.idempotentMethods);
          check(id, t.name, "spec.faultInjection.match.rpcMethods", r.spec.faultInjection?.match?.rpcMethods);
        }
      }
    }
    if (r.kind !== "HTTPRoute") continue;
    r.spec.rules.forEach((rule, i) =>
      rule.matches.forEach((m, j) => {
        if (!m.rpc) return;
        const path = `spec.rules[${i}].matches[${j}].rpc`;
        for (const parent of r.spec.parentRefs) {
          if (parent.kind !== "Service") {
            warnings.push({
              resource: id,
              path,
              message:
                "the gateway receives no Workers RPC (the internet calls over HTTP): this match never matches there",
            });
            continue;
          }
          const names = exported.get(parent.name);
          if (!names) continue;
          const rpc = m.rpc;
          const fits = (wanted: string | undefined, have: string) =>
            wanted === undefined || (rpc.type === "Exact" ? wanted === have : fullMatch(wanted, have));
          if (
            ![...names].some((n) => {
              const { entrypoint, method } = parseMethodName(n);
              return fits(rpc.entrypoint, entrypoint) && fits(rpc.method, method);
            })
          )
            warnings.push({
              resource: id,
              path,
              message: `no version of ${parent.name} exports an RPC method this matches (${describe(names)})`,
            });
        }
      }),
    );
  }
  return warnings;
}

const describe = (names: Set<string>) =>
  names.size
    ? `exported: ${[...names].sort().slice(0, 20).join(", ")}${names.size > 20 ? ", …" : ""}`
    : "it exports no RPC methods";

/** What the edges decide for a RegularExpression (a full match, RE2's semantics); a pattern apply refused matches nothing. */
function fullMatch(source: string, value: string): boolean {
  const compiled = compileRegex(source);
  return compiled.ok && linearMatcher(compiled.program)(value);
}
