import { MeshError } from "../../../shared/errors.ts";
import { requestOf, rpcRequestOf } from "../../../shared/security/authorize.ts";
import { H } from "../../../shared/headers.ts";
import {
  checkCalledFor,
  type CompiledExtAuthzProvider,
  describeExtAuthz,
  headerListed,
} from "../../../shared/security/ext-authz.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import { askProvider, bodyPrefix } from "../ext-authz-check.ts";
import { type Authenticated, type FetchExchange, skip, type Stage } from "../exchange.ts";
import type { Target } from "../upstream.ts";

/** How a host reaches a provider's service: a binding gen wrote, with props { caller } as any mesh call. */
export type ProviderReach = (service: string) => Target | undefined;

/**
 * CUSTOM AuthorizationPolicies (Istio; Envoy's ext_authz in HTTP mode): when one of their rules
 * matches, the provider's service is asked, before DENY and ALLOW are judged. A 2xx lets the request
 * on with the headers the provider sets upstream; any other answer is what the client gets; no
 * answer (failure, timeout) refuses the request with statusOnError, or lets it through with
 * failOpen. The headers the provider sets upstream never come from the client here, checked or not.
 * An edge without CUSTOM policies leaves this stage out: it costs nothing.
 */
export const extAuthz = <T extends Authenticated, R>(snapshot: Snapshot, reach: ProviderReach): Stage<T, T, R> => {
  const extAuthz = snapshot.extAuthz;
  if (!extAuthz) return skip();
  const p = extAuthz.provider;
  const service = snapshot.service ?? snapshot.edge;
  let target: Target | undefined | null = null; // resolved on first use, once per snapshot
  return async (x, next) => {
    if (x.kind === "fetch") dropOwnedHeaders(x, p);
    const r = x.kind === "rpc" ? rpcRequestOf(x.caller, x.call) : requestOf(x.caller, x.identity, x);
    const matched = checkCalledFor(extAuthz, r);
    if (!matched) {
      if (x.record.on) x.record.add(describeExtAuthz(extAuthz, undefined));
      return next(x);
    }
    const body = x.kind === "fetch" && p.body ? await checkedBody(x, p.body) : undefined;
    if (target === null) target = reach(p.service);
    const outcome = await askProvider(x, service, p, target, body);
    const detail = { policy: matched.policy, provider: p.name };
    if ("failed" in outcome) {
      x.flags.add("ext_authz_error");
      if (x.record.on)
        x.record.add({
          ...describeExtAuthz(
            extAuthz,
            matched,
            `failed (${outcome.failed}): ${p.failOpen ? "failOpen lets it through" : `refused with ${p.statusOnError}`}`,
          ),
          error: "ext_authz_error",
        });
      if (p.failOpen) return next(x);
      throw new MeshError(
        "ext_authz_error",
        `authorization provider ${p.name} failed: ${outcome.failed}`,
        detail,
        p.statusOnError,
      );
    }
    if (x.record.on)
      x.record.add(
        describeExtAuthz(extAuthz, matched, `answered ${outcome.status}: ${outcome.allowed ? "allowed" : "denied"}`),
      );
    if (!outcome.allowed) {
      x.flags.add("ext_authz_denied");
      if (x.kind === "fetch") return outcome.answer as R;
      outcome.answer.body?.cancel().catch(() => {});
      throw new MeshError(
        "ext_authz_denied",
        `${x.caller} may not call ${service}.${x.call.fullName}: denied by provider ${p.name} (${outcome.status})`,
        { ...detail, status: outcome.status },
      );
    }
    if (x.kind === "fetch") {
      const h = x.ownHeaders();
      for (const [name, value] of outcome.upstream) h.set(name, value);
      h.set(H.extAuthz, p.name);
      const down = outcome.downstream;
      if (down.length) x.onResponse((h) => down.forEach(([name, value]) => h.append(name, value)));
    }
    return next(x);
  };
};

/** The body the check carries: none for GET or HEAD or an empty body; past maxRequestBytes, cut (allowPartialMessage) or refused with 413. */
async function checkedBody(x: FetchExchange, limit: { maxBytes: number; partial: boolean }) {
  if (x.method === "GET" || x.method === "HEAD" || !x.inbound.body) return undefined;
  const body = await bodyPrefix(x.inbound, limit.maxBytes);
  if (body.cut && !limit.partial)
    throw new MeshError(
      "request_too_large",
      `the request body is larger than the ${limit.maxBytes} bytes the authorization check takes`,
      { maxRequestBytes: limit.maxBytes },
    );
  return body;
}

/**
 * The client may not send what the provider vouches for: its copies go, whether or not this request
 * is checked, unless the gateway says the same provider set them (it checked the request first).
 */
function dropOwnedHeaders(x: FetchExchange, p: CompiledExtAuthzProvider) {
  const owned = p.upstreamOnAllow;
  if (owned.length === 0 || (x.trustedCaller && x.headers.get(H.extAuthz) === p.name)) return;
  let found: string[] | undefined;
  for (const name of x.headers.keys()) if (headerListed(owned, name)) (found ??= []).push(name);
  if (!found) return;
  const h = x.ownHeaders();
  for (const name of found) h.delete(name);
}
