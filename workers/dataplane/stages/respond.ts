import { H } from "../../../shared/headers.ts";
import { backendLabel } from "../../../shared/routing/split.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import type { FetchExchange, Stage } from "../exchange.ts";

/**
 * Stamps the response with what the mesh promises (DESIGN §3): x-request-id, which backend
 * answered and in how many attempts, plus response header filters. A service edge knows the
 * version; the gateway keeps what the service edge said. A response that already says all of it
 * (the gateway's, stamped by the service edge) is passed on as it is: no copy. Reads `backend`,
 * `attempts`, `responseHooks`.
 */
export const respond = <T extends FetchExchange>(snapshot: Snapshot): Stage<T, T, Response> => {
  const atService = snapshot.role === "service";
  return async (x, next) => {
    const upstream = await next(x);
    const h = upstream.headers;
    const requestId = x.requestId;
    const downstreamBackend = atService ? null : h.get(H.backend);
    const backend = x.backend && downstreamBackend === null ? backendLabel(x.backend) : undefined;
    const downstreamAttempts = h.get(H.attempts);
    const attempts = String(Math.max(x.attempts, Number(downstreamAttempts ?? 0), 1));
    const hooks = x.responseHooks;
    if (h.get(H.requestId) === requestId && backend === undefined && attempts === downstreamAttempts && !hooks)
      return upstream;
    const response = new Response(upstream.body, upstream);
    const out = response.headers;
    out.set(H.requestId, requestId);
    if (backend !== undefined) out.set(H.backend, backend);
    if (attempts !== downstreamAttempts) out.set(H.attempts, attempts);
    if (hooks) for (const hook of hooks) hook(out);
    return response;
  };
};
