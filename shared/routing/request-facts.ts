import { normalizeHost } from "./host.ts";

/** What route matching looks at, extracted once per request. */
export type RequestFacts = {
  method: string;
  /** The normalized host (shared/routing/host.ts): lower-case, no port, no trailing dot. */
  host: string;
  /** Path without the query string (normalized by the edge before the facts are taken). */
  path: string;
  query: URLSearchParams;
  /** The headers the backend will receive, as the mesh has rewritten them so far. */
  headers: Headers;
};

/**
 * `hostFromUrl`: the egress edge matches the host it will actually connect to (the URL's), never a
 * Host header an app could set to an allowed name while the URL points elsewhere. `headers`: the
 * edge passes the upstream headers, so no decision ever reads a header the mesh replaced.
 */
export function factsOf(
  request: Request,
  url = new URL(request.url),
  hostFromUrl = false,
  headers = request.headers,
): RequestFacts {
  const rawHost = hostFromUrl ? url.host : (request.headers.get("host") ?? url.host);
  return {
    method: request.method.toUpperCase(),
    host: normalizeHost(rawHost),
    path: url.pathname,
    query: url.searchParams,
    headers,
  };
}
