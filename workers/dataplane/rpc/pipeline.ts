import { MeshError } from "../../../shared/errors.ts";
import { NO_RECORD } from "../../../shared/explain/record.ts";
import { versionBinding } from "../../../shared/names.ts";
import { rpcFaultMatcher, fires } from "../../../shared/resilience/fault.ts";
import { rpcRetriesFor } from "../../../shared/resilience/retry.ts";
import { DEFAULT_RETRY_BUDGET } from "../../../shared/resilience/retry-budget.ts";
import { decideRpcRoute, RouteTable } from "../../../shared/routing/match.ts";
import { type KeyFacts, requestKey } from "../../../shared/routing/request-key.ts";
import { requestTimeoutOf } from "../../../shared/routing/request-timeout.ts";
import { backendLabel, pickBackend, splitUnit } from "../../../shared/routing/split.ts";
import { replayable } from "../../../shared/rpc/args.ts";
import { tryRpc } from "../../../shared/rpc/attempts.ts";
import { namesMethod, rpcTarget } from "../../../shared/rpc/match.ts";
import { callerError, inboundRefusal, notImplemented } from "../../../shared/rpc/outcome.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import type { Flag } from "../../../shared/telemetry/flags.ts";
import type { EdgeProps } from "../env.ts";
import type { EdgeServices } from "../pipeline.ts";
import { continueTrace } from "../trace.ts";
import { authorizeRpc, rateLimitRpc } from "./checks.ts";
import type { RpcInvocation } from "./entrypoint.ts";
import { type RpcRecord, rpcSink } from "./record.ts";

/** One Workers RPC call crossing a service edge, handed its context by the entrypoint. */
export type RpcPipeline = (
  call: RpcInvocation,
  ctx: ExecutionContext,
  props: EdgeProps | undefined,
) => Promise<unknown>;

type Stub = Record<string, unknown>;
const NO_HEADERS = new Headers();

/**
 * A service edge's RPC path, built once per snapshot like the fetch pipeline: shared/pipeline.ts's
 * RPC_PIPELINE order (authz → route → fault → rate limit → outlier → split → concurrency → the try
 * loop, recorded by telemetry), each step asking the same shared decision module as the fetch
 * stage of that name. Written as one sequence because a call has one shape and its hand-offs are
 * locals: nothing is read before the step that decides it.
 */
export function buildRpcPipeline(
  snapshot: Snapshot,
  s: EdgeServices,
  traceSampling: number,
  half: "edge" | "outbound" = "edge",
): RpcPipeline {
  const service = snapshot.service ?? snapshot.edge;
  const table = new RouteTable(snapshot.vhosts, snapshot);
  const policy = snapshot.policy;
  const fault = policy?.faultInjection;
  const faultApplies = fault && rpcFaultMatcher(fault);
  const detector = policy?.outlierDetection && s.resilience.outliers(snapshot.edge, policy.outlierDetection);
  const budgetConfig = policy?.retryBudget ?? DEFAULT_RETRY_BUDGET;
  const record = rpcSink(snapshot, s.recorder, s.accessLogRate, s.flush);
  const stubs = new Map<string, Stub | undefined>();
  const stubOf = (version: string, entrypoint: string | undefined) => {
    const name = versionBinding(version, entrypoint);
    if (!stubs.has(name)) stubs.set(name, s.env[name] as Stub | undefined);
    return stubs.get(name);
  };

  return async (invocation, ctx, props) => {
    const x: RpcRecord = {
      startedAt: Date.now(),
      ctx,
      caller: props?.caller ?? "external",
      call: rpcTarget(props?.entrypoint, invocation.method),
      requestId: crypto.randomUUID(),
      trace: continueTrace(NO_HEADERS, traceSampling), // a call carries no trace context: it starts one
      flags: new Set<Flag>(),
      record: NO_RECORD,
      attempts: 0,
    };
    const args = "args" in invocation ? invocation.args : [];
    let status = 200;
    try {
      if (snapshot.role !== "service" || !props?.caller)
        throw new MeshError(
          "no_route",
          `Workers RPC reaches a service through its binding (calls: in the manifest), not ${snapshot.edge}`,
        );

      // authz (inline: in the callee's isolate, workers/inline/rpc.ts)
      if (half === "edge") authorizeRpc(snapshot, x.caller, x.call, x.flags);

      // route (and its timeout: an RPC call brings no deadline, so the callee's edge starts the budget)
      const routed = decideRpcRoute(table, x.call, snapshot.role);
      if (!routed.ok) throw new MeshError("no_route", routed.reason);
      const routing = routed.routing;
      const entry = routing.entry;
      if (entry) x.route = { route: entry.route, rule: entry.rule };
      const timeout = requestTimeoutOf(entry, snapshot.meshConfig);
      const deadlineAt = timeout ? x.startedAt + timeout.ms : undefined;

      // fault
      if (fault && policy && faultApplies!(x.call)) {
        if (fault.delay && fires(fault.delay.percentage, Math.random())) {
          x.flags.add("fault_delay");
          const wait =
            deadlineAt === undefined
              ? fault.delay.fixedDelay
              : Math.min(fault.delay.fixedDelay, Math.max(0, deadlineAt - Date.now()));
          await new Promise((r) => setTimeout(r, wait));
          if (deadlineAt !== undefined && Date.now() >= deadlineAt) {
            x.flags.add("timed_out");
            throw new MeshError("upstream_timeout", "request deadline exceeded during an injected delay", {
              policy: policy.name,
            });
          }
        }
        if (fault.abort && fires(fault.abort.percentage, Math.random())) {
          x.flags.add("fault_abort");
          throw new MeshError(
            "fault_abort",
            `fault injected by TrafficPolicy/${policy.name}`,
            { policy: policy.name },
            fault.abort.httpStatus,
          );
        }
      }

      // ratelimit (inline: in the callee's isolate)
      const keyFacts: KeyFacts = { headers: NO_HEADERS, caller: x.caller, args };
      if (half === "edge") await rateLimitRpc(snapshot, s, keyFacts, x.flags);

      // outlier
      const names = routing.backends.map(backendLabel);
      let backends = routing.backends;
      let probing: string | undefined;
      if (detector && policy) {
        const live = routing.backends.filter((b) => b.weight > 0).map(backendLabel);
        const admitted = detector.available(live, Date.now());
        if (live.length && admitted.usable.length === 0) {
          x.flags.add("circuit_open");
          throw new MeshError(
            "circuit_open",
            `every backend is ejected by outlier detection: ${admitted.open.join(", ")}`,
            { policy: policy.name, ejected: admitted.open },
          );
        }
        if (admitted.open.length) backends = backends.filter((b) => admitted.usable.includes(backendLabel(b)));
        probing = admitted.probing;
      }

      // split
      const sticky = policy?.stickySession;
      const picked = pickBackend(backends, splitUnit(sticky ? requestKey(sticky.hashOn, keyFacts) : undefined));
      if (!picked?.version) throw new MeshError("no_backend", `no version of ${service} has a weight for this call`);
      x.backend = picked;
      const label = backendLabel(picked);
      if (detector && probing === label) detector.startProbe(label);

      // concurrency
      const limit = policy?.concurrencyLimit;
      const inflightKey = `${snapshot.edge}|${label}`;
      if (limit && !s.resilience.acquire(inflightKey, limit)) {
        x.flags.add("overloaded");
        throw new MeshError(
          "overloaded",
          `concurrency limit ${limit} reached for ${label}`,
          { policy: policy?.name },
          503,
        );
      }

      // forward: the try loop, retrying only a method declared idempotent, never arguments a try consumes
      try {
        const stub = stubOf(picked.version, props.entrypoint);
        if (!stub)
          throw new MeshError(
            "no_backend",
            `${snapshot.edge} has no binding to ${label}${props.entrypoint ? ` entrypoint ${props.entrypoint}` : ""}`,
          );
        const idempotent = namesMethod(policy?.idempotentMethods, x.call) && replayable(args);
        const budget = s.resilience.budget(`${snapshot.edge}|${service}`, budgetConfig);
        budget.onRequest(Date.now());
        const call = () =>
          "read" in invocation
            ? Promise.resolve(stub[invocation.method])
            : (stub[invocation.method] as (...a: unknown[]) => Promise<unknown>)(...args);
        // Inline: the callee's isolate authorizes and rate-limits; its refusal is counted with its code's status.
        const send =
          half === "outbound"
            ? () =>
                call().catch((e: unknown) => {
                  throw inboundRefusal(e) ?? e;
                })
            : call;
        const tried = await tryRpc(
          send,
          {
            perTryMs: entry?.timeouts.backendRequest || undefined,
            deadlineAt,
            retries: rpcRetriesFor(entry?.retry, idempotent),
            retryOn: entry?.retry?.codes ?? [],
            backoffMs: entry?.retry?.backoff ?? 25,
          },
          {
            onTry: (code) => detector?.record(label, code, Date.now(), names),
            allowRetry: () => budget.tryRetry(Date.now()),
          },
          label,
        );
        x.attempts = tried.attempts;
        if (tried.ok) return tried.value;
        for (const f of tried.flags) x.flags.add(f as Flag);
        if (tried.error instanceof MeshError && tried.error.code === "rbac_denied") x.flags.add("denied");
        if (tried.error instanceof MeshError && tried.error.code === "rate_limited") x.flags.add("rate_limited");
        status = tried.status;
        if (notImplemented(tried.error) === invocation.method)
          throw new MeshError("no_method", `${label} does not implement the RPC method "${x.call.fullName}"`, {
            backend: label,
          });
        throw tried.error;
      } finally {
        if (limit) s.resilience.release(inflightKey);
      }
    } catch (e) {
      if (e instanceof MeshError) {
        status = e.status;
        throw callerError(e);
      }
      throw e;
    } finally {
      record(x, status);
    }
  };
}
