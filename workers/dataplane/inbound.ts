import { H, INTERNAL_PREFIX } from "../../shared/headers.ts";
import { GATEWAY } from "../../shared/names.ts";
import { factsOf } from "../../shared/routing/request-facts.ts";
import { canonicalHostHeader } from "../../shared/routing/host.ts";
import type { Snapshot } from "../../shared/snapshot/schema.ts";
import { type DecisionLog, NO_RECORD } from "../../shared/explain/record.ts";
import type { EdgeProps } from "./env.ts";
import type { Flag } from "../../shared/telemetry/flags.ts";
import type { Exchange } from "./exchange.ts";
import { continueTrace } from "./trace.ts";
import { withExplainEntry } from "./debug.ts";

const MAX_DEADLINE_MS = 3_600_000;

/**
 * Establishes who is calling and what the request carries, before any stage runs. Identity comes
 * from the binding's props (set at deploy time); x-isomesh-* headers are only believed from the
 * gateway, and a request from outside the mesh loses them all. Every decision reads
 * `upstreamHeaders` (also `facts.headers`): the headers the backend will receive, as the mesh has
 * rewritten them so far, never the inbound copy (authenticate replaces claim-derived headers first).
 */
export function createExchange(
  request: Request,
  ctx: ExecutionContext,
  props: EdgeProps | undefined,
  snapshot: Snapshot,
  record = NO_RECORD,
  traceSampling = 1,
): Exchange {
  const external = snapshot.role === "gateway" || !props?.caller;
  const caller = external ? "external" : props.caller!;
  const trustedCaller = caller === GATEWAY;
  const upstreamHeaders = new Headers(request.headers);
  let deadlineAt: number | undefined;
  const deadlineHeader = Number(request.headers.get(H.deadline));
  if (!external && Number.isFinite(deadlineHeader) && deadlineHeader >= 0 && request.headers.has(H.deadline))
    deadlineAt = Date.now() + Math.min(deadlineHeader, MAX_DEADLINE_MS);
  // From the gateway, every x-isomesh-* header is the gateway's own (it stripped the client's), so
  // only the caller header, which each edge sets for its apps, is dropped: no scan of every name.
  if (trustedCaller) upstreamHeaders.delete(H.caller);
  else
    for (const name of [...upstreamHeaders.keys()]) if (name.startsWith(INTERNAL_PREFIX)) upstreamHeaders.delete(name);
  const egress = snapshot.role === "egress";
  const url = new URL(request.url);
  if (egress)
    upstreamHeaders.delete("host"); // the URL decides where an external call goes
  else {
    // The backend gets the host the policies judge (shared/routing/host.ts), with its port.
    const host = request.headers.get("host");
    const canonical = host === null ? undefined : canonicalHostHeader(host);
    if (canonical !== undefined && canonical !== host) upstreamHeaders.set("host", canonical);
    if (url.hostname.endsWith(".")) url.hostname = url.hostname.replace(/\.+$/, "");
  }
  const trace = continueTrace(request.headers, record.on ? 1 : traceSampling);
  if (snapshot.role === "gateway" || record.on) trace.state = withExplainEntry(trace.state, record.on);
  return {
    startedAt: Date.now(),
    ctx,
    caller,
    trustedCaller,
    requestId: request.headers.get(H.requestId) || crypto.randomUUID(),
    trace,
    deadlineAt,
    inbound: request,
    url,
    upstreamHeaders,
    facts: factsOf(request.method, url, upstreamHeaders, egress),
    attempts: 0,
    responseHooks: [],
    flags: props?.captured
      ? new Set<Flag>([props.captured === "declared" ? "global_fetch" : "global_fetch_undeclared"])
      : new Set<Flag>(),
    record,
    mirror: trustedCaller && request.headers.get(H.mirror) === "1",
  };
}
