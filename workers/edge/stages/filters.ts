import { modifyHeaders, redirectLocation, rewrite } from "../../../shared/routing/filters.ts";
import type { Stage } from "../exchange.ts";

/**
 * The matched rule's Gateway API filters: request and response header modifiers, URL rewrite,
 * and redirects (answered here, without calling a backend). Mirrors are their own stage.
 */
export const filters = (): Stage => async (x, next) => {
  const route = x.route;
  if (!route || route.filters.length === 0) return next();
  const prefix = route.path.type === "PathPrefix" ? route.path.value : undefined;
  for (const f of route.filters) {
    switch (f.type) {
      case "RequestHeaderModifier":
        modifyHeaders(x.upstreamHeaders, f.requestHeaderModifier);
        if (x.record.on) x.record.note("filters", "modified request headers", { ...f.requestHeaderModifier });
        break;
      case "ResponseHeaderModifier":
        x.responseHooks.push((h) => modifyHeaders(h, f.responseHeaderModifier));
        break;
      case "URLRewrite": {
        const next = rewrite(f.urlRewrite, { host: x.url.hostname, path: x.url.pathname }, prefix);
        if (x.record.on)
          x.record.note("filters", `rewrote ${x.url.hostname}${x.url.pathname} to ${next.host}${next.path}`);
        if (next.host !== x.url.hostname) {
          x.url.hostname = next.host;
          x.url.port = ""; // the rewritten Host carries no port
        }
        x.url.pathname = next.path;
        x.upstreamHeaders.set("host", x.url.host);
        break;
      }
      case "RequestRedirect": {
        const hostHeader = x.inbound.headers.get("host") ?? x.url.host;
        const port = hostHeader.includes(":") && !hostHeader.startsWith("[") ? hostHeader.split(":")[1] : undefined;
        const location = redirectLocation(
          f.requestRedirect,
          {
            scheme: x.url.protocol.replace(":", ""),
            host: x.facts.host,
            port,
            path: x.url.pathname,
            search: x.url.search,
          },
          prefix,
        );
        if (x.record.on) x.record.note("filters", `redirect ${f.requestRedirect.statusCode} to ${location}`);
        return new Response(null, { status: f.requestRedirect.statusCode, headers: { location } });
      }
      case "RequestMirror":
        break;
    }
  }
  return next();
};
