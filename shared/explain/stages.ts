import type { StageName } from "../pipeline.ts";
import { faultMatcher, rpcFaultMatcher } from "../resilience/fault.ts";
import { rpcRetriesFor } from "../resilience/retry.ts";
import { budgetFor } from "../resilience/retry-budget.ts";
import { namesMethod } from "../rpc/match.ts";
import { describeLimit } from "../ratelimit/rate-limit.ts";
import { decideEgress, describeAllowed } from "../routing/egress-allow.ts";
import { applyBackendFilters, applyFilters, mirrorPercent } from "../routing/filters.ts";
import { decideRoute, decideRpcRoute, describeRoute, describeRpcRoute, type Routing } from "../routing/match.ts";
import { describeNormalized, normalizePath } from "../routing/normalize-path.ts";
import { describeTimeout, requestTimeoutOf } from "../routing/request-timeout.ts";
import { backendLabel, sharesOf } from "../routing/split.ts";
import { judgeClaims, rulesForIssuer } from "../security/authn.ts";
import { authorize, describeAuthz, requestOf, rpcRequestOf } from "../security/authorize.ts";
import { checkCalledFor, describeExtAuthz } from "../security/ext-authz.ts";
import { applyDerivedHeaders, outputHeadersOf } from "../security/claim-headers.ts";
import { principalOf } from "../security/jwt.ts";
import { corsExplainer } from "./cors.ts";
import type { Explainer, HopState } from "./synthetic.ts";

// Each stage of the edge, as synthetic explain runs it: the same decisions the edge's stage makes
// (the modules under shared/), on a request that is never sent. Stages that decide from state only
// the edges hold (counters, breakers, in-flight requests) say what applies or nothing.

const nothing: Explainer = () => {};

const normalize: Explainer = (h) => {
  const normalized = normalizePath(h.facts.path, h.snapshot.meshConfig.path);
  if (!normalized.ok) {
    h.decisions.push({ stage: "normalize", decision: normalized.reason, error: "invalid_path", status: 400 });
    return "stop";
  }
  if (normalized.path === h.facts.path) return;
  h.decisions.push(describeNormalized(h.facts.path, normalized.path));
  h.facts.path = h.url.pathname = normalized.path;
};

/**
 * Claims are assumed verified (no signature to check): at the gateway this edge's rules judge the
 * issuer and audience; a service edge believes the end user only when the gateway called it.
 */
const authn: Explainer = (h) => {
  const rules = h.snapshot.authn?.rules ?? [];
  // The gateway sees the outside world's token; the egress edge's callers are apps, with no end user.
  const claims =
    h.snapshot.role === "service" ? h.fromGateway?.claims : h.snapshot.role === "gateway" ? h.input.claims : undefined;
  if (h.snapshot.role === "service") {
    h.identity = h.fromGateway;
    if (rules.length)
      h.decisions.push({
        stage: "authn",
        decision: h.identity ? `principal ${h.identity.principal} from the gateway` : "no token: no principal",
        principal: h.identity?.principal,
      });
  } else if (rules.length === 0) {
    if (claims) h.decisions.push({ stage: "authn", decision: "no RequestAuthentication here: the token is ignored" });
  } else if (!claims) h.decisions.push({ stage: "authn", decision: "no token: no principal" });
  else {
    const judged = judgeClaims(rules, claims);
    if (!judged.ok) {
      h.decisions.push({
        stage: "authn",
        decision: `token rejected: ${judged.reason}`,
        policy: judged.policy,
        error: "authn_failed",
        status: 401,
      });
      return "stop";
    }
    h.identity = { principal: principalOf(claims), claims };
    h.decisions.push({
      stage: "authn",
      decision: `authenticated ${h.identity.principal} (claims assumed: the signature is not checked in a synthetic request)`,
      policy: judged.rule.policy,
      principal: h.identity.principal,
    });
  }
  // As the edge does: claim-derived headers replace (or, without an identity, remove) the request's copies.
  applyDerivedHeaders(
    h.headers,
    outputHeadersOf(rules),
    h.identity ? rulesForIssuer(rules, h.identity.claims.iss) : [],
    h.identity?.claims,
  );
};

const authz: Explainer = (h) => {
  const r = h.rpc ? rpcRequestOf(h.caller, h.rpc) : requestOf(h.caller, h.identity, h.facts);
  const d = authorize(h.snapshot.authz, r);
  const decision = describeAuthz(d, r);
  h.decisions.push(d.allowed ? decision : { ...decision, error: "rbac_denied", status: 403 });
  if (!d.allowed) return "stop";
};

/** A synthetic request is never sent, so the provider is not asked: the record says whether it would be. */
const extAuthz: Explainer = (h) => {
  const e = h.snapshot.extAuthz;
  if (!e) return;
  const r = h.rpc ? rpcRequestOf(h.caller, h.rpc) : requestOf(h.caller, h.identity, h.facts);
  h.decisions.push(
    describeExtAuthz(
      e,
      checkCalledFor(e, r),
      "would be asked (a synthetic request is not sent to it: its answer decides)",
    ),
  );
};

function routed(h: HopState, routing: Routing) {
  h.routing = routing;
  const t = requestTimeoutOf(routing.entry, h.snapshot.meshConfig, h.callerMs);
  h.deadlineMs = t?.ms;
  if (t) h.decisions.push(describeTimeout(t));
}

const route: Explainer = (h) => {
  const d = h.rpc ? decideRpcRoute(h.table, h.rpc, h.snapshot.role) : decideRoute(h.table, h.facts, h.snapshot.role);
  if (!d.ok) {
    h.decisions.push({
      stage: "route",
      decision: "no route matched",
      reason: d.reason,
      error: "no_route",
      status: 404,
    });
    return "stop";
  }
  h.decisions.push(h.rpc ? describeRpcRoute(h.table, h.rpc, d.routing) : describeRoute(h.table, h.facts, d.routing));
  routed(h, d.routing);
};

const egress: Explainer = (h) => {
  const d = decideEgress(h.table, new Map((h.snapshot.externals ?? []).map((e) => [e.name, e])), h.url, h.facts);
  if (!d.ok) {
    h.decisions.push({
      stage: d.external ? "egress" : "route",
      decision: d.reason,
      error: "egress_denied",
      status: 403,
    });
    return "stop";
  }
  h.decisions.push(describeAllowed(h.url, d.external));
  routed(h, d.routing);
};

const filters: Explainer = (h) => {
  const entry = h.routing?.entry;
  if (!entry?.filters.length) return;
  const out = applyFilters(
    entry,
    { url: h.url, headers: h.headers, clientHost: h.headers.get("host"), host: h.facts.host },
    (d) => h.decisions.push(d),
  );
  if (out.redirect) return "stop";
};

const fault: Explainer = (h) => {
  const policy = h.snapshot.policy;
  const f = policy?.faultInjection;
  if (!policy || !f) return;
  if (h.rpc ? !rpcFaultMatcher(f)(h.rpc) : !faultMatcher(f, h.snapshot.regexes)(h.headers)) {
    h.decisions.push({
      stage: "fault",
      decision: `fault injection does not apply: its ${h.rpc ? "match does not name this call" : "header match fails"}`,
      policy: policy.name,
    });
    return;
  }
  if (f.delay)
    h.decisions.push({
      stage: "fault",
      decision: `would delay ${f.delay.fixedDelay} ms for ${f.delay.percentage}% of these requests`,
      policy: policy.name,
    });
  if (!f.abort) return;
  const always = f.abort.percentage >= 100;
  h.decisions.push({
    stage: "fault",
    decision: `would abort with ${f.abort.httpStatus} for ${f.abort.percentage}% of these requests`,
    policy: policy.name,
    ...(always ? { error: "fault_abort", status: f.abort.httpStatus } : {}),
  });
  if (always) return "stop";
};

const ratelimit: Explainer = (h) => {
  const policy = h.snapshot.policy;
  for (const l of policy?.rateLimits ?? [])
    h.decisions.push({
      stage: "ratelimit",
      decision: `limited to ${describeLimit(l)}${l.key ? `, per ${JSON.stringify(l.key)}` : ""}; current usage is only known to the edges`,
      policy: policy?.name,
    });
};

const split: Explainer = (h) => {
  const backends = h.routing?.backends ?? [];
  const shares = sharesOf(backends);
  if (!shares) {
    h.decisions.push({ stage: "split", decision: "every backend has weight 0", error: "no_backend", status: 500 });
    return "stop";
  }
  const weightsFrom = h.routing?.weightsFrom;
  const text =
    backends.length === 1
      ? `always ${backendLabel(backends[0])}`
      : `weighted: ${Object.entries(shares)
          .map(([k, v]) => `${k} ${Math.round(v * 1000) / 10}%`)
          .join(", ")}`;
  h.decisions.push({
    stage: "split",
    decision: weightsFrom ? `${text}, set by ${weightsFrom}` : text,
    shares,
    ...(weightsFrom ? { weightsFrom } : {}),
  });
  const sticky = h.snapshot.policy?.stickySession;
  if (sticky)
    h.decisions.push({
      stage: "split",
      decision: `sticky on ${JSON.stringify(sticky.hashOn)}: one client keeps one backend`,
    });
};

/** Each weighted backend's own filters, on its own copy of the request (the split's share decides which a real request gets). */
const backendFilters: Explainer = (h) => {
  const entry = h.routing?.entry;
  for (const b of h.routing?.backends ?? []) {
    if (b.weight === 0 || !b.filters) continue;
    const url = new URL(h.url);
    const headers = new Headers(h.headers);
    const out = applyBackendFilters(
      entry,
      b,
      { url, headers, clientHost: h.headers.get("host"), host: h.facts.host },
      (d) => h.decisions.push(d),
    );
    h.sentTo.set(b, { url, headers, redirected: !!out?.redirect });
  }
};

const mirror: Explainer = (h) => {
  const lists = [
    { filters: h.routing?.entry?.filters ?? [], of: "these requests" },
    ...(h.routing?.backends ?? [])
      .filter((b) => b.weight > 0 && b.filters)
      .map((b) => ({ filters: b.filters ?? [], of: `the requests sent to ${backendLabel(b)}` })),
  ];
  for (const { filters, of } of lists)
    for (const f of filters)
      if (f.type === "RequestMirror") {
        const ref = f.requestMirror.backendRef;
        const target = backendLabel({
          service: h.snapshot.role === "service" ? (h.snapshot.service ?? ref.name) : ref.name,
          version: h.snapshot.role === "service" ? ref.version : undefined,
        });
        h.decisions.push({
          stage: "mirror",
          decision: `would mirror ${mirrorPercent(f.requestMirror)}% of ${of} to ${target}`,
        });
      }
};

/**
 * The retry policy: for a fetch, per destination, the retry budget that bounds it (the destination's
 * own, from its TrafficPolicy); for a Workers RPC call, whether a failed try would be retried at all
 * (only a method declared idempotent).
 */
const forward: Explainer = (h) => {
  const retry = h.routing?.entry?.retry;
  if (!retry) return;
  if (h.rpc) {
    const idempotent = namesMethod(h.snapshot.policy?.idempotentMethods, h.rpc);
    const retries = rpcRetriesFor(retry, idempotent);
    h.decisions.push({
      stage: "retry",
      decision: idempotent
        ? `up to ${retries} retries on ${retry.codes.join(", ")} (${h.rpc.fullName} is declared idempotent)`
        : `no retries: ${h.rpc.fullName} is not in the TrafficPolicy's idempotentMethods`,
    });
    return;
  }
  if (!retry.attempts) return;
  for (const service of new Set((h.routing?.backends ?? []).filter((b) => b.weight > 0).map((b) => b.service))) {
    const { budget, policy } = budgetFor(h.snapshot, service);
    h.decisions.push({
      stage: "retry",
      decision: `up to ${retry.attempts} retries on ${retry.codes.join(", ")} or no answer, within ${service}'s retry budget: ${budget.percent}% of requests + ${budget.minRetriesPerSecond}/s (${policy ? `TrafficPolicy/${policy}` : "default"})`,
      budget,
      ...(policy ? { policy } : {}),
    });
  }
};

/** Every stage of the edge, by name: the pipeline of a hop is shared/pipeline.ts's order for its role. */
export const EXPLAINERS: Record<StageName, Explainer> = {
  identity: nothing,
  app: nothing,
  telemetry: nothing,
  respond: nothing,
  errors: nothing,
  normalize,
  cors: corsExplainer,
  authn,
  extAuthz,
  authz,
  route,
  egress,
  filters,
  fault,
  ratelimit,
  outlier: nothing,
  split,
  backendFilters,
  mirror,
  concurrency: nothing,
  forward,
};
