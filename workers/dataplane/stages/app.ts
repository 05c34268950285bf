import { H } from "../../../shared/headers.ts";
import type { Authenticated, CallExchange, Called, Exchange, FetchExchange, Stage } from "../exchange.ts";
import { withoutInternalHeaders } from "../upstream.ts";

/** What the app threw: it leaves the inline inbound as the app threw it, as it would leave a Worker without the mesh. */
export class AppFailure {
  constructor(readonly error: unknown) {}
}

/**
 * The app's own handler, as the inline inbound calls it (a function call in the same isolate): a
 * fetch with the request the mesh passes on and the one that arrived, or an RPC call's method.
 */
export type AppHandler = {
  fetch(request: Request, inbound: Request): Promise<Response>;
  call(x: CallExchange): unknown;
};

/**
 * Inline inbound's last stage: the app gets the request as the mesh rewrote it (normalized path,
 * claim-derived headers, `x-isomesh-caller` from the binding's props; the very request that arrived
 * when nothing changed), and what it answers loses any `x-isomesh-*` header it set: an app cannot
 * speak for the mesh (as the upstream does at an edge). An RPC method runs as the app wrote it.
 */
export const app =
  <T extends Authenticated, R>(handler: (x: Exchange) => AppHandler): Stage<T, T, R> =>
  async (x) => {
    if (x.kind === "rpc") return { value: await handler(x).call(x) } satisfies Called as R;
    return (await serve(x, handler(x))) as R;
  };

async function serve(x: FetchExchange, handler: AppHandler): Promise<Response> {
  if (x.headers.get(H.caller) !== x.caller) x.ownHeaders().set(H.caller, x.caller);
  const inbound = x.inbound;
  const request =
    x.headersChanged || x.urlChanged
      ? new Request(x.urlChanged ? x.url.href : x.href, {
          method: inbound.method,
          headers: x.headers,
          body: inbound.body !== null && inbound.method !== "GET" && inbound.method !== "HEAD" ? inbound.body : null,
          redirect: "manual",
          signal: inbound.signal,
        })
      : inbound;
  let res: Response;
  try {
    res = await handler.fetch(request, inbound);
  } catch (e) {
    throw new AppFailure(e);
  }
  return withoutInternalHeaders(res);
}
