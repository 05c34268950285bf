import { mirrorFires } from "../../../shared/routing/filters.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import type { Stage } from "../exchange.ts";
import type { Upstream } from "../upstream.ts";

/**
 * RequestMirror: a copy of the request goes to the mirror backend, fire-and-forget through
 * waitUntil; its response is ignored and never delays or changes the real one.
 */
export const mirror = (snapshot: Snapshot, upstream: Upstream): Stage => async (x, next) => {
  const mirrors = x.route?.filters.filter((f) => f.type === "RequestMirror") ?? [];
  for (const f of mirrors) {
    if (f.type !== "RequestMirror" || !mirrorFires(f.requestMirror, Math.random())) continue;
    const ref = f.requestMirror.backendRef;
    const backend = snapshot.role === "service" ? { service: snapshot.service!, version: ref.version, weight: 1 } : { service: ref.name, weight: 1 };
    const body = x.inbound.body ? x.inbound.clone().body : null;
    x.flags.add("mirrored");
    if (x.record.on) x.record.note("mirror", `mirrored to ${ref.version ? `${backend.service}/${ref.version}` : backend.service}`);
    x.ctx.waitUntil(
      upstream(x, backend, body, AbortSignal.timeout(30_000)).then(
        (r) => r.body?.cancel(),
        () => undefined,
      ),
    );
  }
  return next();
};
