import { H } from "../../../shared/headers.ts";
import { backendLabel } from "../../../shared/routing/split.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import type { PassStage } from "../exchange.ts";

/**
 * Stamps the response with what the mesh promises (DESIGN §3): x-request-id, which backend
 * answered and in how many attempts, plus response header filters. A service edge knows the
 * version; the gateway keeps what the service edge said. Reads `backend`, `attempts`, `responseHooks`.
 */
export const respond =
  (snapshot: Snapshot): PassStage =>
  async (x, next) => {
    const upstream = await next(x);
    const response = new Response(upstream.body, upstream);
    const h = response.headers;
    h.set(H.requestId, x.requestId);
    if (x.backend && (snapshot.role === "service" || !h.has(H.backend))) h.set(H.backend, backendLabel(x.backend));
    const downstreamAttempts = Number(h.get(H.attempts) ?? 0);
    h.set(H.attempts, String(Math.max(x.attempts, downstreamAttempts, 1)));
    for (const hook of x.responseHooks) hook(h);
    return response;
  };
