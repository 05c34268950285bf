/** The control plane did not answer (network error, timeout, or a proxy's 502/503/504): the data is stale. */
export class ConnectionLost extends Error {}
export class Unauthorized extends Error {}

const TIMEOUT_MS = 4000;

/** Admin API calls with the bearer token (never in a URL) and a timeout, so a hung control plane counts as lost. */
export class Api {
  constructor(private readonly token: () => string | null) {}

  async call<T>(path: string, init: RequestInit = {}): Promise<T> {
    let res: Response;
    try {
      res = await fetch(path, {
        ...init,
        signal: AbortSignal.timeout(TIMEOUT_MS),
        headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${this.token()}` },
      });
    } catch (e) {
      throw new ConnectionLost(
        (e as Error).name === "TimeoutError" ? `no answer in ${TIMEOUT_MS / 1000} s` : "cannot connect",
      );
    }
    if (res.status === 401) throw new Unauthorized("That token was not accepted.");
    if (res.status === 502 || res.status === 503 || res.status === 504) throw new ConnectionLost(`HTTP ${res.status}`);
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body?.error?.message ?? body?.errors?.[0]?.message ?? `HTTP ${res.status}`);
    return body as T;
  }
}
