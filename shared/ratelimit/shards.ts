/**
 * Global rate-limit counters live in a fixed number of RateLimiter Durable Objects, whatever the
 * number of keys: a key's shard is a hash of it. An attacker choosing keys chooses among these
 * objects, never creates one.
 */
export const RATE_LIMIT_SHARDS = 64;

/** The RateLimiter object (by name) that counts `key`: FNV-1a over the key's UTF-16 code units. */
export function shardOf(key: string, shards = RATE_LIMIT_SHARDS): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return `shard-${(h >>> 0) % shards}`;
}

/** Longest key value counted on its own; longer values (only an attacker sends them) share one key. */
export const MAX_KEY_CHARS = 512;
export const OVERSIZED_KEY = "(oversized)";

/** The value a limit counts by, bounded in size so keys cannot grow a counter table's memory. */
export const boundedKey = (value: string | undefined): string =>
  value === undefined ? "(none)" : value.length > MAX_KEY_CHARS ? OVERSIZED_KEY : value;
