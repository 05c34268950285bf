import { H } from "../../../shared/headers.ts";
import type { RouteFilter } from "../../../shared/resources/route-filter.ts";
import { mirrorFires } from "../../../shared/routing/filters.ts";
import { backendLabel, type CompiledBackend } from "../../../shared/routing/split.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import type { Flag } from "../../../shared/telemetry/flags.ts";
import type { Exchange, PassStage, Picked } from "../exchange.ts";
import type { TelemetrySink } from "../telemetry/record.ts";
import { randomHex } from "../trace.ts";
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
export const mirror =
  (snapshot: Snapshot, upstream: Upstream, sink: TelemetrySink): PassStage<Picked> =>
  async (x, next) => {
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
      // The copy's own headers (the real request's are changed per try) and, where it is recorded here, its own span.
      const headers = new Headers(x.upstreamHeaders);
      headers.set(H.mirror, "1");
      const trace = atService ? { ...x.trace, parentSpanId: x.trace.spanId, spanId: randomHex(8) } : x.trace;
      const copy: Exchange = { ...x, trace, upstreamHeaders: headers };
      const startedAt = Date.now();
      const timeoutMs = Math.min(MIRROR_MAX_MS, x.route.entry?.timeouts.request || MIRROR_MAX_MS);
      const answered = (async () => upstream(copy, backend, body, AbortSignal.timeout(timeoutMs)))().then(
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
