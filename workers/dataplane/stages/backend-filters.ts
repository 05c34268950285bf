import { applyBackendFilters, modifyHeaders } from "../../../shared/routing/filters.ts";
import type { FetchExchange, Picked, Stage } from "../exchange.ts";
import { filteredRequest } from "./filters.ts";

/**
 * The picked backend's own Gateway API filters (backendRefs[].filters, shared/routing/filters.ts):
 * after the rule's filters and only for the backend the split picked, so each weighted backend
 * gets its own headers, rewrite or redirect. Its mirrors are the mirror stage's. Reads `backend`
 * and `route`; writes `url`, `headers` and `responseHooks`.
 */
export const backendFilters =
  <T extends Picked<FetchExchange>>(): Stage<T, T, Response> =>
  (x, next) => {
    if (!x.backend.filters) return next(x);
    const out = applyBackendFilters(
      x.route.entry,
      x.backend,
      filteredRequest(x),
      x.record.on ? (d) => x.record.add(d) : undefined,
    );
    if (!out) return next(x);
    for (const m of out.responseHeaders) x.onResponse((h) => modifyHeaders(h, m));
    if (out.redirect)
      return Promise.resolve(
        new Response(null, { status: out.redirect.status, headers: { location: out.redirect.location } }),
      );
    return next(x);
  };
