import { H, INTERNAL_PREFIX } from "../../../shared/headers.ts";
import type { Authenticated } from "../exchange.ts";

/** What the app threw: it leaves the inline inbound as the app threw it, as it would leave a Worker without the mesh. */
export class AppFailure {
  constructor(readonly error: unknown) {}
}

/** The app's own handler, as the inline inbound calls it: a function call in the same isolate. */
export type AppHandler = (request: Request, inbound: Request) => Promise<Response>;

/**
 * Inline inbound's last stage: the app gets the request as the mesh rewrote it (normalized path,
 * claim-derived headers, `x-isomesh-caller` from the binding's props), and what it answers loses
 * any `x-isomesh-*` header it set: an app cannot speak for the mesh (as upstream.ts does at an edge).
 */
export const app =
  (handler: AppHandler) =>
  async (x: Authenticated): Promise<Response> => {
    x.upstreamHeaders.set(H.caller, x.caller);
    const inbound = x.inbound;
    const hasBody = inbound.body !== null && inbound.method !== "GET" && inbound.method !== "HEAD";
    const request = new Request(x.url.toString(), {
      method: inbound.method,
      headers: x.upstreamHeaders,
      body: hasBody ? inbound.body : null,
      redirect: "manual",
      signal: inbound.signal,
    });
    let res: Response;
    try {
      res = await handler(request, inbound);
    } catch (e) {
      throw new AppFailure(e);
    }
    let internal = false;
    for (const name of res.headers.keys()) if (name.startsWith(INTERNAL_PREFIX)) internal = true;
    if (!internal || res.status === 101) return res;
    const clean = new Response(res.body, res);
    for (const name of [...clean.headers.keys()]) if (name.startsWith(INTERNAL_PREFIX)) clean.headers.delete(name);
    return clean;
  };
