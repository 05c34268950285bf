import { GATEWAY } from "../names.ts";
import { faultHeadersMatcher } from "../routing/fault-headers.ts";
import { authorize } from "../security/authorize.ts";
import { principalOf } from "../security/jwt.ts";
import type { Snapshot } from "../snapshot/schema.ts";
import type { Decision } from "./record.ts";
import { derivedHeaders, outputHeadersOf } from "../security/claim-headers.ts";
import type { StageExplainer, StageExplainers, SyntheticRequest } from "./synthetic.ts";

/**
 * Who the edge would see: the gateway sees the outside world (claims assumed verified); a
 * service edge believes the end user only when the gateway forwarded the call, as a real edge does.
 */
function identity(snapshot: Snapshot, input: SyntheticRequest, caller: string) {
  const seesUser = snapshot.role === "gateway" || caller === GATEWAY;
  const claims = seesUser ? input.claims : undefined;
  const principal = claims ? principalOf(claims) : undefined;
  return { claims, principal };
}

const authentication: StageExplainer = (snapshot, facts, input, caller) => {
  const rules = snapshot.authn?.rules ?? [];
  const { claims, principal } = identity(snapshot, input, caller);
  // As the edge does: claim-derived headers replace (or, without claims, remove) the request's copies.
  const verifiedBy = claims ? rules.filter((r) => r.issuer === claims.iss) : [];
  for (const [name, value] of derivedHeaders(outputHeadersOf(rules), verifiedBy, claims))
    if (value === undefined) facts.headers.delete(name);
    else facts.headers.set(name, value);
  if (snapshot.role === "service")
    return principal ? [{ stage: "authn", decision: `principal ${principal} from the gateway`, principal }] : [];
  if (rules.length === 0)
    return claims ? [{ stage: "authn", decision: "no RequestAuthentication here: the token is ignored" }] : [];
  if (!claims) return [{ stage: "authn", decision: "no token: no principal" }];
  const rule = rules.find((r) => r.issuer === claims.iss);
  if (!rule)
    return [
      {
        stage: "authn",
        decision: `token rejected: issuer ${JSON.stringify(claims.iss)} is not trusted here`,
        error: "authn_failed",
        status: 401,
        final: true,
      },
    ];
  const aud = ([] as unknown[]).concat(claims.aud ?? []);
  if (rule.audiences.length && !aud.some((a) => rule.audiences.includes(String(a))))
    return [
      {
        stage: "authn",
        decision: `token rejected: audience ${JSON.stringify(claims.aud)} is not one of ${rule.audiences.join(", ")}`,
        policy: rule.policy,
        error: "authn_failed",
        status: 401,
        final: true,
      },
    ];
  return [
    {
      stage: "authn",
      decision: `authenticated ${principal} (claims assumed: the signature is not checked in a synthetic request)`,
      policy: rule.policy,
      principal,
    },
  ];
};

const authorization: StageExplainer = (snapshot, facts, input, caller) => {
  const { claims, principal } = identity(snapshot, input, caller);
  if (!snapshot.authz)
    return [{ stage: "authz", decision: "allowed: no AuthorizationPolicy targets this workload", caller, principal }];
  const d = authorize(snapshot.authz, {
    caller,
    requestPrincipal: principal,
    claims,
    method: facts.method,
    path: facts.path,
    host: facts.host,
    headers: facts.headers,
  });
  const out: Decision = { stage: "authz", decision: d.reason, policy: d.policy, rule: d.rule, caller, principal };
  return [d.allowed ? out : { ...out, error: "rbac_denied", status: 403, final: true }];
};

const faults: StageExplainer = (snapshot, facts) => {
  const f = snapshot.policy?.faultInjection;
  if (!f) return [];
  const matches = faultHeadersMatcher(f.headers)(facts.headers);
  const policy = snapshot.policy!.name;
  if (!matches) return [{ stage: "fault", decision: "fault injection does not apply: its header match fails", policy }];
  const out: Decision[] = [];
  if (f.delay)
    out.push({
      stage: "fault",
      decision: `would delay ${f.delay.ms} ms for ${f.delay.percentage}% of these requests`,
      policy,
    });
  if (f.abort)
    out.push({
      stage: "fault",
      decision: `would abort with ${f.abort.status} for ${f.abort.percentage}% of these requests`,
      policy,
      ...(f.abort.percentage >= 100 ? { error: "fault_abort", status: f.abort.status, final: true } : {}),
    });
  return out;
};

const rateLimits: StageExplainer = (snapshot) =>
  (snapshot.policy?.rateLimits ?? []).map((l) => ({
    stage: "ratelimit",
    decision: `limited to ${l.requests} per ${l.perMs} ms (${l.mode}${l.key ? `, per ${JSON.stringify(l.key)}` : ""}); current usage is only known to the edges`,
    policy: snapshot.policy!.name,
  }));

/**
 * The edge's stages as pure functions of the snapshot and the request, in pipeline order
 * (authentication and authorization before routing; faults and rate limits after it). A decision
 * with `final: true` ends the hop, as the edge's answer would.
 */
export const STAGE_EXPLAINERS: StageExplainers = {
  beforeRoute: [authentication, authorization],
  afterRoute: [faults, rateLimits],
};
