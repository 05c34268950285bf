import type { CompiledBackend } from "../snapshot/schema.ts";

/** 32-bit FNV-1a of a string, mapped to [0, 1): a stable position for consistent-hash stickiness. */
export function hashUnit(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 0x1_0000_0000;
}

/**
 * Picks a backend by weight at position `unit` in [0, 1) (random, or a hash for sticky sessions).
 * Weight 0 never gets traffic; returns undefined when every weight is 0.
 */
export function pickBackend(backends: readonly CompiledBackend[], unit: number): CompiledBackend | undefined {
  let total = 0;
  for (const b of backends) total += b.weight;
  if (total <= 0) return undefined;
  let point = unit * total;
  for (const b of backends) {
    if (b.weight === 0) continue;
    if (point < b.weight) return b;
    point -= b.weight;
  }
  return backends.findLast((b) => b.weight > 0);
}
