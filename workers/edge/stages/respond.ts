import { H } from "../../../shared/headers.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import type { Stage } from "../exchange.ts";

/**
 * Stamps the response with what the mesh promises (DESIGN §3): x-request-id, which backend
 * answered and in how many attempts, plus response header filters. A service edge knows the
 * version; the gateway keeps what the service edge said.
 */
export const respond =
  (snapshot: Snapshot): Stage =>
  async (x, next) => {
    const upstream = await next();
    const response = new Response(upstream.body, upstream);
    const h = response.headers;
    h.set(H.requestId, x.requestId);
    if (x.backend && (snapshot.role === "service" || !h.has(H.backend)))
      h.set(H.backend, x.backend.version ? `${x.backend.service}/${x.backend.version}` : x.backend.service);
    const downstreamAttempts = Number(h.get(H.attempts) ?? 0);
    h.set(H.attempts, String(Math.max(x.attempts, downstreamAttempts, 1)));
    for (const hook of x.responseHooks) hook(h);
    return response;
  };
