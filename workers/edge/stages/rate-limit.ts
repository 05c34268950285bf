import { MeshError } from "../../../shared/errors.ts";
import type { KeySource } from "../../../shared/resources/traffic-policy.ts";
import type { Snapshot } from "../../../shared/snapshot/schema.ts";
import type { Exchange, Stage } from "../exchange.ts";
import type { ResilienceState } from "../resilience/state.ts";
import { boundedKey } from "../../../shared/ratelimit/shards.ts";

/** Counts a request against a global limit (a Durable Object shared by every isolate). */
export type GlobalLimiter = (
  key: string,
  limit: number,
  periodMs: number,
) => Promise<{ ok: boolean; retryAfterMs: number }>;

/**
 * The value a limit or a sticky session is keyed on; undefined when the request does not carry it.
 * Headers are the ones the backend will receive (a claim-derived header is the mesh's, not the client's).
 */
export function keyOf(source: KeySource | undefined, x: Exchange): string | undefined {
  if (!source) return "*";
  const headers = x.upstreamHeaders;
  if ("header" in source) return headers.get(source.header) ?? undefined;
  if ("cookie" in source) return cookie(headers.get("cookie"), source.cookie);
  if ("claim" in source) {
    const v = x.claims?.[source.claim];
    return v === undefined ? undefined : String(v);
  }
  if ("caller" in source) return x.caller;
  if ("host" in source) return x.facts.host;
  // CF-Connecting-IP is Cloudflare's (it overwrites a client's copy); X-Forwarded-For only where it is absent (locally).
  return headers.get("cf-connecting-ip") ?? headers.get("x-forwarded-for")?.split(",")[0].trim() ?? undefined;
}

function cookie(header: string | null, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) return decodeCookie(part.slice(i + 1).trim());
  }
  return undefined;
}

/** A malformed escape (`%zz`) keeps the raw value: a client's cookie must never make the edge throw. */
function decodeCookie(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * The service's rate limits: a token bucket per key in this isolate (`local`), or a fixed-window
 * counter in one of the RateLimiter shards for the whole mesh (`global`). Over the limit: 429 with
 * Retry-After. Key values longer than 512 characters count together as one key.
 */
export const rateLimit = (snapshot: Snapshot, state: ResilienceState, global?: GlobalLimiter): Stage => {
  const limits = snapshot.policy?.rateLimits ?? [];
  if (limits.length === 0) return (_x, next) => next();
  const policy = snapshot.policy!.name;
  return async (x, next) => {
    for (const [i, l] of limits.entries()) {
      const key = boundedKey(keyOf(l.key, x));
      const scope = `${snapshot.edge}|${policy}|${i}|${l.requests}/${l.perMs}|${key}`;
      const verdict =
        l.mode === "global" && global
          ? await global(scope, l.requests, l.perMs).catch(() => ({ ok: true, retryAfterMs: 0 })) // fail open: the limiter is not on the critical path
          : toVerdict(state.bucket(scope, l.requests, l.perMs, Date.now()).take(Date.now()));
      if (x.record.on)
        x.record.note(
          "ratelimit",
          verdict.ok
            ? `within ${l.requests} per ${l.perMs} ms (${l.mode})`
            : `over ${l.requests} per ${l.perMs} ms (${l.mode})`,
          { policy, rule: i, key },
        );
      if (!verdict.ok) {
        x.flags.add("rate_limited");
        const retryAfter = String(Math.max(1, Math.ceil(verdict.retryAfterMs / 1000)));
        throw new MeshError(
          "rate_limited",
          `rate limit ${l.requests} per ${l.perMs} ms exceeded`,
          { policy, rule: i },
          429,
          { "retry-after": retryAfter },
        );
      }
    }
    return next();
  };
};

const toVerdict = (r: { ok: true } | { ok: false; retryAfterMs: number }) =>
  r.ok ? { ok: true, retryAfterMs: 0 } : { ok: false, retryAfterMs: r.retryAfterMs };
