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

export function factsOf(request: Request, url = new URL(request.url)): RequestFacts {
  const rawHost = request.headers.get("host") ?? url.host;
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
