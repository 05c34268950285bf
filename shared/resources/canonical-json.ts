/** JSON with every object's keys sorted: two resources with the same content render the same whatever the key order. */
export const canonicalJson = (v: unknown): string =>
  JSON.stringify(v, (_k, val) =>
    val && typeof val === "object" && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val).sort(([a], [b]) => a.localeCompare(b)))
      : val,
  );

/** The same resource content whatever the key order (what the ConfigStore counts as "no change"). */
export const sameDocument = (a: unknown, b: unknown): boolean => canonicalJson(a) === canonicalJson(b);
