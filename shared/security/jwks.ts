import { createLocalJWKSet, type JSONWebKeySet } from "jose";

export type Fetcher = (url: string) => Promise<Response>;

const COOLDOWN_MS = 30_000;
const MAX_AGE_MS = 10 * 60_000;
const MAX_JWKS_BYTES = 64 * 1024;

/**
 * A remote JWKS (jwksUri), cached: refreshed when older than 10 minutes, refetched for an unknown
 * `kid` at most once per 30 s cooldown, and served stale if a refresh fails (stale-if-error).
 */
export class RemoteJwks {
  private keys?: JSONWebKeySet;
  private fetchedAt = 0;
  private attemptAt = -Infinity;
  private inflight?: Promise<void>;
  fetches = 0;

  constructor(
    readonly uri: string,
    private readonly fetcher: Fetcher,
    private readonly now: () => number = Date.now,
  ) {}

  async keySet(kid: string | undefined): Promise<JSONWebKeySet> {
    const t = this.now();
    const known = !!this.keys && (kid === undefined || this.keys.keys.some((k) => k.kid === kid));
    const expired = !this.keys || t - this.fetchedAt > MAX_AGE_MS;
    if ((expired || !known) && t - this.attemptAt >= COOLDOWN_MS) await this.refresh();
    if (!this.keys) throw new Error(`JWKS ${this.uri} is not available`);
    return this.keys;
  }

  private refresh(): Promise<void> {
    this.inflight ??= (async () => {
      this.attemptAt = this.now();
      this.fetches++;
      try {
        const res = await this.fetcher(this.uri);
        const text = await res.text();
        if (!res.ok || text.length > MAX_JWKS_BYTES) throw new Error(`JWKS ${this.uri} answered ${res.status}`);
        const doc = JSON.parse(text) as JSONWebKeySet;
        if (!Array.isArray(doc.keys)) throw new Error(`JWKS ${this.uri} has no keys`);
        this.keys = { keys: doc.keys.filter((k) => k.kty !== "oct" && !("d" in k)) };
        this.fetchedAt = this.now();
      } catch (e) {
        if (!this.keys) throw e; // nothing stale to serve
      }
    })().finally(() => (this.inflight = undefined));
    return this.inflight;
  }
}

/** Local key sets are built once per JWKS document. */
const local = new WeakMap<object, ReturnType<typeof createLocalJWKSet>>();
export function localKeySet(keys: JSONWebKeySet) {
  let set = local.get(keys);
  if (!set) local.set(keys, (set = createLocalJWKSet(keys)));
  return set;
}
