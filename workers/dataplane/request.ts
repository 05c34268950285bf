import { DecisionLog, NO_RECORD } from "../../shared/explain/record.ts";
import { H, INTERNAL_PREFIX } from "../../shared/headers.ts";
import { GATEWAY } from "../../shared/names.ts";
import { canonicalHostHeader, normalizeHost } from "../../shared/routing/host.ts";
import { rpcTarget } from "../../shared/rpc/match.ts";
import type { Snapshot } from "../../shared/snapshot/schema.ts";
import type { EdgeProps } from "./env.ts";
import { CallExchange, FetchExchange } from "./exchange.ts";
import { hasExplainEntry, withExplainEntry } from "./explain.ts";
import type { RpcInvocation } from "./rpc/invocation.ts";
import { continueTrace } from "./trace.ts";

const MAX_DEADLINE_MS = 3_600_000;
const NO_HEADERS = new Headers();

/**
 * Establishes who is calling and what the request carries, before any stage runs. Identity comes
 * from the binding's props (set at deploy time); x-isomesh-* headers are only believed from the
 * gateway, and a request from anyone else loses them all (a scan of the header names, made only
 * for those callers). Nothing is copied here: the exchange reads the inbound request, and the first
 * stage that must change a header copies them (FetchExchange.ownHeaders).
 */
export function fetchExchange(
  request: Request,
  ctx: ExecutionContext,
  props: EdgeProps | undefined,
  snapshot: Snapshot,
  record: DecisionLog = NO_RECORD,
  traceSampling = 1,
): FetchExchange {
  const startedAt = Date.now();
  const external = snapshot.role === "gateway" || !props?.caller;
  const caller = external ? "external" : props.caller!;
  const trustedCaller = caller === GATEWAY;
  const inbound = request.headers;
  const trace = continueTrace(inbound, record.on ? 1 : traceSampling);
  // Past the gateway, a trace the gateway marked for explaining is recorded at every hop.
  if (!record.on && snapshot.role !== "gateway" && hasExplainEntry(trace.received)) record = new DecisionLog(true);
  // At the gateway a client's tracestate never carries our explain entry (only a verified debug token sets it);
  // none leaves the mesh through the egress edge.
  if (snapshot.role !== "service" || record.on) {
    if (trace.received === undefined) trace.received = inbound.get(H.tracestate);
    trace.state = withExplainEntry(trace.state, record.on);
  }
  const href = request.url;
  const { authority, path, search } = splitHref(href);
  const egress = snapshot.role === "egress";
  // The egress edge matches the host it will connect to (the URL's), never a Host header an app set.
  const hostHeader = egress ? null : inbound.get("host");
  const x = new FetchExchange(
    startedAt,
    ctx,
    caller,
    trustedCaller,
    trace,
    record,
    request,
    href,
    request.method.toUpperCase(),
    normalizeHost(hostHeader ?? authority),
    path,
    search,
    trustedCaller && inbound.get(H.mirror) === "1",
    inbound.get(H.requestId),
  );
  if (props?.captured) x.flags.add(props.captured === "declared" ? "global_fetch" : "global_fetch_undeclared");
  if (!external) {
    const deadline = inbound.get(H.deadline);
    const ms = deadline === null ? NaN : Number(deadline);
    if (ms >= 0) x.deadlineAt = startedAt + Math.min(ms, MAX_DEADLINE_MS);
  }
  // From the gateway, every x-isomesh-* header is the gateway's own (it stripped the client's).
  if (!trustedCaller) stripInternalHeaders(x);
  if (egress) {
    if (inbound.has("host")) x.ownHeaders().delete("host"); // the URL decides where an external call goes
  } else {
    // The backend gets the host the policies judge (shared/routing/host.ts), with its port.
    const canonical = hostHeader === null ? undefined : canonicalHostHeader(hostHeader);
    if (canonical !== undefined && canonical !== hostHeader) x.ownHeaders().set("host", canonical);
    if (authority.endsWith(".")) x.url.hostname = x.url.hostname.replace(/\.+$/, "");
  }
  return x;
}

/** Every x-isomesh-* header from outside the mesh's trust goes before any stage reads one. */
function stripInternalHeaders(x: FetchExchange): void {
  let internal: string[] | undefined;
  for (const name of x.headers.keys()) if (name.startsWith(INTERNAL_PREFIX)) (internal ??= []).push(name);
  if (!internal) return;
  const headers = x.ownHeaders();
  for (const name of internal) headers.delete(name);
}

/** The authority, path and query (with its `?`) of an absolute URL as the runtime serialized it. */
export function splitHref(href: string): { authority: string; path: string; search: string } {
  const start = href.indexOf("//") + 2;
  let end = href.indexOf("/", start);
  const query = href.indexOf("?", start);
  const hash = href.indexOf("#", start);
  const stop = Math.min(query === -1 ? href.length : query, hash === -1 ? href.length : hash);
  if (end === -1 || end > stop) end = stop;
  return {
    authority: href.slice(start, end),
    path: end === stop ? "/" : href.slice(end, stop),
    search: query === -1 ? "" : href.slice(query, hash > query ? hash : href.length),
  };
}

/**
 * A Workers RPC call as the data plane carries it: the caller from the binding's props, the
 * (entrypoint, method) it names. A call carries no headers and no trace context: it starts a trace.
 */
export function callExchange(
  invocation: RpcInvocation,
  ctx: ExecutionContext,
  props: EdgeProps | undefined,
  record: DecisionLog = NO_RECORD,
  traceSampling = 1,
): CallExchange {
  return new CallExchange(
    Date.now(),
    ctx,
    props?.caller ?? "external",
    continueTrace(NO_HEADERS, record.on ? 1 : traceSampling),
    record,
    invocation,
    rpcTarget(props?.entrypoint, invocation.method),
    props?.entrypoint,
  );
}
