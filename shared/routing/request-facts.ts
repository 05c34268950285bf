import { normalizeHost } from "./host.ts";

/** What every decision reads of a request: plain facts, not a Request (an RPC call has them too). */
export type RequestFacts = {
  method: string;
  /** The normalized host (shared/routing/host.ts): lower-case, no port, no trailing dot. */
  host: string;
  /** Path without the query string (normalized before any decision reads it). */
  path: string;
  /** The query as the client sent it: its own copy, so a stage that changes the backend's URL (a token removed) changes no decision. */
  readonly query: URLSearchParams;
  /** The headers the backend will receive, as the mesh has rewritten them so far. */
  headers: Headers;
};

/**
 * The facts of a request to `url` with `headers`. `hostFromUrl`: the egress edge matches the host it
 * will actually connect to (the URL's), never a Host header an app could set to an allowed name while
 * the URL points elsewhere. The query is parsed only if a decision reads it (few routes match on it).
 */
export function factsOf(method: string, url: URL, headers: Headers, hostFromUrl = false): RequestFacts {
  const search = url.search;
  let query: URLSearchParams | undefined;
  return {
    method: method.toUpperCase(),
    host: normalizeHost(hostFromUrl ? url.host : (headers.get("host") ?? url.host)),
    path: url.pathname,
    get query() {
      return (query ??= new URLSearchParams(search));
    },
    headers,
  };
}
