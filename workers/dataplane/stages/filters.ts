import { applyFilters, modifyHeaders } from "../../../shared/routing/filters.ts";
import type { PassStage, Routed } from "../exchange.ts";

/**
 * The matched rule's Gateway API filters (shared/routing/filters.ts): request and response header
 * modifiers, URL rewrite, and redirects (answered here, without calling a backend). Mirrors are
 * their own stage. Reads `route`; writes `url`, `upstreamHeaders` and `responseHooks`.
 */
export const filters = (): PassStage<Routed> => async (x, next) => {
  const entry = x.route.entry;
  if (!entry || entry.filters.length === 0) return next(x);
  const out = applyFilters(
    entry,
    { url: x.url, headers: x.upstreamHeaders, clientHost: x.inbound.headers.get("host"), host: x.facts.host },
    x.record.on ? (d) => x.record.add(d) : undefined,
  );
  for (const m of out.responseHeaders) x.responseHooks.push((h) => modifyHeaders(h, m));
  if (out.redirect)
    return new Response(null, { status: out.redirect.status, headers: { location: out.redirect.location } });
  return next(x);
};
