import { MeshError } from "../../../shared/errors.ts";
import { H } from "../../../shared/headers.ts";
import { requestOf, rpcRequestOf } from "../../../shared/security/authorize.ts";
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
    const matched = checkCalledFor(
      extAuthz,
      x.kind === "rpc" ? rpcRequestOf(x.caller, x.call) : requestOf(x.caller, x.identity, x),
    );
    if (!matched) {
      x.record.add(describeExtAuthz(extAuthz, undefined));
      return next(x);
    }
    const body = x.kind === "fetch" && p.body ? await checkedBody(x, p.body) : undefined;
    if (target === null) target = reach(p.service);
    const o = await askProvider(x, service, p, target, body);
    if ("failed" in o) {
      x.flags.add("ext_authz_error");
      const said = `failed (${o.failed}): ${p.failOpen ? "failOpen" : p.statusOnError}`;
      x.record.add({ ...describeExtAuthz(extAuthz, matched, said), error: "ext_authz_error" });
      if (p.failOpen) return next(x);
      throw new MeshError("ext_authz_error", `provider ${p.name} ${o.failed}`, matched, p.statusOnError);
    }
    x.record.add(describeExtAuthz(extAuthz, matched, `${o.answer ? "denied" : "allowed"} (${o.status})`));
    if (o.answer) {
      x.flags.add("ext_authz_denied");
      if (x.kind === "fetch") return o.answer as R;
      o.answer.body?.cancel().catch(() => {});
      throw new MeshError("ext_authz_denied", `${x.caller} may not call ${service}.${x.call.fullName}: ${o.status}`, {
        ...matched,
        provider: p.name,
      });
    }
    if (x.kind === "fetch") {
      const h = x.ownHeaders();
      for (const [name, value] of o.upstream) h.set(name, value);
      h.set(H.extAuthz, p.name);
      const down = o.downstream;
      if (down.length) x.onResponse((h) => down.forEach(([name, value]) => h.append(name, value)));
    }
    return next(x);
  };
};

/** The body the check carries: none for GET, HEAD or no body; past maxRequestBytes, cut (allowPartialMessage) or 413. */
async function checkedBody(x: FetchExchange, limit: { maxBytes: number; partial: boolean }) {
  if (x.method === "GET" || x.method === "HEAD" || !x.inbound.body) return undefined;
  const body = await bodyPrefix(x.inbound, limit.maxBytes);
  if (body.cut && !limit.partial)
    throw new MeshError("request_too_large", `body over the check's ${limit.maxBytes} bytes`, {
      maxRequestBytes: limit.maxBytes,
    });
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
