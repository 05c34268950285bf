import * as z from "zod/mini";
import type { AuthorizationPolicy } from "../resources/authorization-policy.ts";
import { AuthorizationRule } from "../resources/authorization-rule.ts";
import { normalizeHost } from "../routing/host.ts";

/** The AuthorizationPolicies attached to an edge, oldest first: the resources' own rules (hosts normalized). */
export const CompiledAuthz = z.object({
  policies: z.array(
    z.object({ name: z.string(), action: z.enum(["ALLOW", "DENY", "AUDIT"]), rules: z.array(AuthorizationRule) }),
  ),
});
export type CompiledAuthz = z.infer<typeof CompiledAuthz>;

export const AUTHZ_FLAGS = {
  denied: "an AuthorizationPolicy denied it (403)",
  audited: "an AUDIT policy matched",
} as const;

/** ALLOW, DENY and AUDIT policies (CUSTOM ones ask their provider: shared/security/ext-authz.ts). */
export function compileAuthz(all: AuthorizationPolicy[]): CompiledAuthz | undefined {
  const list = all.flatMap((p) =>
    p.spec.action === "CUSTOM" ? [] : [{ ...p, spec: { ...p.spec, action: p.spec.action } }],
  );
  if (list.length === 0) return undefined;
  return {
    policies: list.map((p) => ({
      name: p.metadata.name,
      action: p.spec.action,
      rules: p.spec.rules.map(withNormalizedHosts),
    })),
  };
}

/** Policy hosts compare with the request's normalized host, so they are normalized alike (case, port, trailing dot). */
export function withNormalizedHosts(rule: AuthorizationRule): AuthorizationRule {
  if (!rule.to?.some(({ operation: o }) => o.hosts || o.notHosts)) return rule;
  const norm = (hosts: string[] | undefined) => hosts?.map(normalizeHost);
  return {
    ...rule,
    to: rule.to.map(({ operation: o }) => ({ operation: { ...o, hosts: norm(o.hosts), notHosts: norm(o.notHosts) } })),
  };
}

import type { Decision } from "../explain/record.ts";
import type { RequestFacts } from "../routing/request-facts.ts";
import type { Identity } from "./identity-headers.ts";

/** What authorization looks at: who calls (service), for whom (JWT), and what they ask. */
export type AuthzRequest = {
  /** Calling service (from the binding's props), e.g. "productpage"; "external" from the internet. */
  caller: string;
  /** End-user principal `iss/sub`, when authenticated. */
  requestPrincipal?: string;
  claims?: Record<string, unknown>;
  /** HTTP method, path, host and headers: absent on a Workers RPC call, which has none. */
  method?: string;
  path?: string;
  host?: string;
  headers?: Headers;
  /** A Workers RPC call's full method name (`getRating`, `Admin.reset`); absent on a fetch. */
  rpcMethod?: string;
};

export type AuthzDecision =
  | { allowed: true; policy?: string; rule?: number; reason: string; audited?: { policy: string; rule: number }[] }
  | {
      allowed: false;
      policy: string | string[];
      rule?: number;
      reason: string;
      audited?: { policy: string; rule: number }[];
    };

const NO_POLICY = "allowed: no AuthorizationPolicy targets this workload";

/** The facts authorization reads: the calling service, the end user, and what the request asks. */
export const requestOf = (caller: string, identity: Identity | undefined, facts: RequestFacts): AuthzRequest => ({
  caller,
  requestPrincipal: identity?.principal,
  claims: identity?.claims,
  method: facts.method,
  path: facts.path,
  host: facts.host,
  headers: facts.headers,
});

/**
 * The facts of a Workers RPC call: the calling service and the method. No token travels with a
 * call, so it has no end user; what a fetch has and a call does not never matches (its `not…` form
 * always does), so an ALLOW written for paths does not open RPC (docs/security.md).
 */
export const rpcRequestOf = (caller: string, call: { fullName: string }): AuthzRequest => ({
  caller,
  rpcMethod: call.fullName,
});

/** The decision record of authorization, the same at the edge and in a synthetic explanation. */
export const describeAuthz = (d: AuthzDecision, r: AuthzRequest): Decision => ({
  stage: "authz",
  decision: d.reason,
  policy: d.policy,
  rule: d.rule,
  caller: r.caller,
  principal: r.requestPrincipal,
});

/** Istio value matching: exact, `*`, a `prefix*` or a `*suffix`. */
export function valueMatches(pattern: string, value: string): boolean {
  if (pattern === "*") return true;
  if (pattern.endsWith("*")) return value.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith("*")) return value.endsWith(pattern.slice(1));
  return pattern === value;
}

/** Service principals may be written as Istio SPIFFE-style names: cluster.local/ns/<ns>/sa/<service>. */
const principalMatches = (pattern: string, caller: string) => {
  const sa = /^(?:spiffe:\/\/)?[^/]+\/ns\/[^/]+\/sa\/(.+)$/.exec(pattern);
  return valueMatches(sa ? sa[1] : pattern, caller);
};

const anyOf = (patterns: string[] | undefined, value: string | undefined, match = valueMatches) =>
  patterns === undefined || (value !== undefined && patterns.some((p) => match(p, value)));
const noneOf = (patterns: string[] | undefined, value: string | undefined, match = valueMatches) =>
  patterns === undefined || value === undefined || !patterns.some((p) => match(p, value));

function claimValues(claims: Record<string, unknown> | undefined, name: string): string[] {
  // Nested claims use dots (Istio: request.auth.claims[groups], request.auth.claims[a.b]).
  let v: unknown = claims;
  for (const part of name.split(".")) v = v && typeof v === "object" ? (v as Record<string, unknown>)[part] : undefined;
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v.map(String) : [String(v)];
}

function conditionValues(key: string, r: AuthzRequest): string[] {
  const claim = /^request\.auth\.claims\[(.+)\]$/.exec(key);
  if (claim) return claimValues(r.claims, claim[1]);
  const header = /^request\.headers\[(.+)\]$/.exec(key);
  if (header) {
    const v = r.headers?.get(header[1]) ?? null;
    return v === null ? [] : [v];
  }
  if (key === "source.principal") return [r.caller];
  if (key === "request.auth.principal") return r.requestPrincipal ? [r.requestPrincipal] : [];
  return [];
}

/** Whether one rule matches: every present field matches (from: any source; to: any operation; when: all). */
export function ruleMatches(rule: AuthorizationRule, r: AuthzRequest): boolean {
  if (
    rule.from &&
    !rule.from.some(
      ({ source: s }) =>
        anyOf(s.principals, r.caller, principalMatches) &&
        noneOf(s.notPrincipals, r.caller, principalMatches) &&
        anyOf(s.requestPrincipals, r.requestPrincipal) &&
        (s.notRequestPrincipals === undefined ||
          !s.notRequestPrincipals.some((p) => r.requestPrincipal !== undefined && valueMatches(p, r.requestPrincipal))),
    )
  )
    return false;
  if (
    rule.to &&
    !rule.to.some(
      ({ operation: o }) =>
        anyOf(o.methods, r.method) &&
        noneOf(o.notMethods, r.method) &&
        anyOf(o.paths, r.path) &&
        noneOf(o.notPaths, r.path) &&
        anyOf(o.hosts, r.host) &&
        noneOf(o.notHosts, r.host) &&
        anyOf(o.rpcMethods, r.rpcMethod) &&
        noneOf(o.notRpcMethods, r.rpcMethod),
    )
  )
    return false;
  for (const c of rule.when ?? []) {
    const values = conditionValues(c.key, r);
    if (c.values && !values.some((v) => c.values!.some((p) => valueMatches(p, v)))) return false;
    if (c.notValues && values.some((v) => c.notValues!.some((p) => valueMatches(p, v)))) return false;
  }
  return true;
}

const firstMatch = (rules: AuthorizationRule[], r: AuthzRequest) => rules.findIndex((rule) => ruleMatches(rule, r));

/**
 * Istio's evaluation: AUDIT policies only record; any matching DENY denies; then, if any ALLOW
 * policy targets the workload, the request must match one of their rules (an ALLOW policy
 * without rules matches nothing, a rule `{}` matches everything); otherwise it is allowed.
 */
export function authorize(authz: CompiledAuthz | undefined, r: AuthzRequest): AuthzDecision {
  if (!authz || authz.policies.length === 0) return { allowed: true, reason: NO_POLICY };
  const audited = authz.policies
    .filter((p) => p.action === "AUDIT")
    .flatMap((p) => {
      const i = firstMatch(p.rules, r);
      return i >= 0 ? [{ policy: p.name, rule: i }] : [];
    });
  for (const p of authz.policies.filter((p) => p.action === "DENY")) {
    const i = firstMatch(p.rules, r);
    if (i >= 0)
      return { allowed: false, policy: p.name, rule: i, reason: `DENY policy ${p.name} rule ${i} matched`, audited };
  }
  const allows = authz.policies.filter((p) => p.action === "ALLOW");
  if (allows.length === 0)
    return { allowed: true, reason: "no DENY matched and no ALLOW policy targets this workload", audited };
  for (const p of allows) {
    const i = firstMatch(p.rules, r);
    if (i >= 0)
      return { allowed: true, policy: p.name, rule: i, reason: `ALLOW policy ${p.name} rule ${i} matched`, audited };
  }
  return { allowed: false, policy: allows.map((p) => p.name), reason: "no ALLOW policy matched", audited };
}
