import * as z from "zod/mini";
import { KeySource } from "../resources/key-source.ts";
import { RouteFilter } from "../resources/route-filter.ts";

export const CompiledBackend = z.object({
  service: z.string(),
  /** Set on service edges: the version of the service this backend is. */
  version: z.optional(z.string()),
  weight: z.number().check(z.int(), z.gte(0)),
  /** The backendRef's own filters, applied only when this backend is picked, after the rule's (absent when none). */
  filters: z.optional(z.array(RouteFilter)),
});
export type CompiledBackend = z.infer<typeof CompiledBackend>;

/** A TrafficPolicy's stickySession as edges run it (the resource's own shape). */
export const CompiledStickySession = z.object({ hashOn: KeySource });
export type CompiledStickySession = z.infer<typeof CompiledStickySession>;

/** A backend's name everywhere the mesh shows one (x-isomesh-backend, metrics, explain, outlier detection). */
export const backendLabel = (b: Pick<CompiledBackend, "service" | "version">) =>
  b.version ? `${b.service}/${b.version}` : b.service;

/** 32-bit FNV-1a of a string, mapped to [0, 1): a stable position for consistent-hash stickiness. */
export function hashUnit(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 0x1_0000_0000;
}

/** Where in [0, 1) a request falls: by the hash of its sticky key when it has one, else at random. */
export const splitUnit = (stickyKey: string | undefined) =>
  stickyKey !== undefined ? hashUnit(stickyKey) : Math.random();

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

/**
 * A service edge's backendRefs with each version-less one (the service itself) replaced by the
 * service's default split (equal, or a Rollout's weights), keeping its share of the weights.
 */
export function withDefaultSplit(
  declared: readonly CompiledBackend[],
  defaults: readonly CompiledBackend[],
): CompiledBackend[] {
  if (declared.every((b) => b.version)) return [...declared];
  const totalDefault = defaults.reduce((a, b) => a + b.weight, 0) || 1;
  return declared.flatMap((b) =>
    b.version
      ? [{ ...b, weight: b.weight * totalDefault }]
      : defaults.map((d) => ({ ...d, weight: b.weight * d.weight, ...(b.filters ? { filters: b.filters } : {}) })),
  );
}

/** Each backend's share of the traffic, 0 to 1 (rounded to 4 digits), or undefined when every weight is 0. */
export function sharesOf(backends: readonly CompiledBackend[]): Record<string, number> | undefined {
  const total = backends.reduce((a, b) => a + b.weight, 0);
  if (total === 0) return undefined;
  return Object.fromEntries(backends.map((b) => [backendLabel(b), Math.round((b.weight / total) * 10000) / 10000]));
}
