import { applyFilters, type FilteredRequest, modifyHeaders } from "../../../shared/routing/filters.ts";
import type { FetchExchange, Routed, Stage } from "../exchange.ts";

/**
 * The request the filters work on, read and copied only as far as a filter needs it: the URL is
 * parsed by a rewrite or a redirect, the headers are copied by the first filter that writes one.
 */
export function filteredRequest(x: FetchExchange): FilteredRequest {
  return {
    get url() {
      return x.url;
    },
    get headers() {
      return x.ownHeaders();
    },
    get clientHost() {
      return x.inbound.headers.get("host");
    },
    host: x.host,
  };
}

/**
 * The matched rule's Gateway API filters (shared/routing/filters.ts): request and response header
 * modifiers, URL rewrite, and redirects (answered here, without calling a backend). Mirrors are
 * their own stage. Reads `route`; writes `url`, `headers` and `responseHooks`.
 */
export const filters =
  <T extends Routed<FetchExchange>>(): Stage<T, T, Response> =>
  (x, next) => {
    const entry = x.route.entry;
    if (!entry || entry.filters.length === 0) return next(x);
    const out = applyFilters(entry, filteredRequest(x), x.record.on ? (d) => x.record.add(d) : undefined);
    for (const m of out.responseHeaders) x.onResponse((h) => modifyHeaders(h, m));
    if (out.redirect)
      return Promise.resolve(
        new Response(null, { status: out.redirect.status, headers: { location: out.redirect.location } }),
      );
    return next(x);
  };
