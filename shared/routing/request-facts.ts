/** What route matching looks at, extracted once per request. */
export type RequestFacts = {
  method: string;
  /** Lower-case host without port. */
  host: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: Headers;
};

/**
 * `hostFromUrl`: the egress edge matches the host it will actually connect to (the URL's), never a
 * Host header an app could set to an allowed name while the URL points elsewhere.
 */
export function factsOf(request: Request, url = new URL(request.url), hostFromUrl = false): RequestFacts {
  const rawHost = hostFromUrl ? url.host : request.headers.get("host") ?? url.host;
  return {
    method: request.method.toUpperCase(),
    host: hostWithoutPort(rawHost.toLowerCase()),
    path: url.pathname,
    query: url.searchParams,
    headers: request.headers,
  };
}

function hostWithoutPort(host: string): string {
  if (host.startsWith("[")) return host.slice(0, host.indexOf("]") + 1);
  const colon = host.lastIndexOf(":");
  return colon === -1 ? host : host.slice(0, colon);
}
