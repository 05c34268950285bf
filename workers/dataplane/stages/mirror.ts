import type { RouteFilter } from "../../../shared/resources/route-filter.ts";
import { mirrorFires } from "../../../shared/routing/filters.ts";
import { backendLabel, type CompiledBackend } from "../../../shared/routing/split.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import type { Flag } from "../../../shared/telemetry/flags.ts";
import { type FetchExchange, type Picked, skip, type Stage } from "../exchange.ts";
import type { TelemetrySink } from "../telemetry/sink.ts";
import { childSpan } from "../trace.ts";
import type { Upstream } from "../upstream.ts";

const NO_FILTERS: readonly RouteFilter[] = [];
const mirrorsOf = (x: Picked) => {
  const rule = x.route.entry?.filters ?? NO_FILTERS;
  return x.backend.filters ? [...rule, ...x.backend.filters] : rule;
};

/** A copy must answer, and be recorded and flushed, inside the ~30 s waitUntil leaves after the response. */
const MIRROR_MAX_MS = 20_000;
const NONE: Flag[] = [];
const TIMED_OUT: Flag[] = ["timed_out"];

/**
 * RequestMirror: a copy of the request goes to the mirror backend, fire-and-forget through
 * waitUntil; its response is ignored and never delays or changes the real one. The rule's mirrors
 * and the picked backend's, each a copy of the request as that backend gets it. Reads `route`, `backend`.
 *
 * The copy is recorded where it arrives, as every request is, by the target's edge: at a service
 * edge (mirror to a version) this edge is the version's edge, so it records the copy itself, with
 * a span of its own (a child of this request's), when the answer comes; from the gateway (mirror
 * to a service) the service's edge records it. Either way it is marked `mirror`, in metrics
 * (counted apart from real traffic), spans and access logs, and carries `x-isomesh-mirror: 1`.
 */
export const mirror = <T extends Picked<FetchExchange>>(
  snapshot: Snapshot,
  upstream: Upstream,
  sink: TelemetrySink,
): Stage<T, T, Response> => {
  if (!hasMirrors(snapshot)) return skip();
  return (x, next) => {
    for (const f of mirrorsOf(x)) {
      if (f.type !== "RequestMirror" || !mirrorFires(f.requestMirror, Math.random())) continue;
      const ref = f.requestMirror.backendRef;
      const atService = snapshot.role === "service";
      const backend: CompiledBackend = atService
        ? { service: snapshot.service ?? ref.name, version: ref.version, weight: 1 }
        : { service: ref.name, weight: 1 };
      const body = x.inbound.body ? x.inbound.clone().body : null;
      x.flags.add("mirrored");
      if (x.record.on) x.record.note("mirror", `mirrored to ${backendLabel(backend)}`);
      // Where it is recorded here, the copy is a span of its own.
      const trace = atService ? childSpan(x.trace) : x.trace;
      const startedAt = Date.now();
      const timeoutMs = Math.min(MIRROR_MAX_MS, x.route.entry?.timeouts.request || MIRROR_MAX_MS);
      const answered = (async () => upstream.mirror(x, backend, trace, body, AbortSignal.timeout(timeoutMs)))().then(
        async (r) => {
          await r.body?.cancel();
          return { status: r.status, flags: NONE };
        },
        (e: unknown) =>
          (e as { name?: string } | undefined)?.name === "TimeoutError"
            ? { status: 504, flags: TIMED_OUT }
            : { status: 502, flags: NONE },
      );
      x.ctx.waitUntil(
        atService
          ? answered.then((a) => sink.mirror(x, { trace, version: ref.version ?? "unknown", startedAt, ...a }))
          : answered,
      );
    }
    return next(x);
  };
};

/** Whether any rule or backendRef of the snapshot mirrors: if none, the stage costs nothing. */
const hasMirrors = (snapshot: Snapshot) =>
  snapshot.vhosts.some((vh) =>
    vh.routes.some(
      (r) =>
        r.filters.some((f) => f.type === "RequestMirror") ||
        r.backends.some((b) => b.filters?.some((f) => f.type === "RequestMirror")),
    ),
  );
