/** Method labels an isolate keeps when the exports are not known (a deployed Worker): the first names seen. */
const MAX_UNLISTED_METHODS = 64;
const unlisted = new Set<string>();

/**
 * The method label of a call's series, bounded (docs/observability.md#workers-rpc): a name some
 * version exports, else `(unknown)`; without an export list, the first 64 names, then `(other)`.
 * A call answered "no such method" is `(unknown)` whatever the list says.
 */
export function methodLabel(known: readonly string[] | undefined, name: string, status: number): string {
  if (status === 404) return "(unknown)";
  if (known) return known.includes(name) ? name : "(unknown)";
  if (unlisted.has(name)) return name;
  if (unlisted.size >= MAX_UNLISTED_METHODS) return "(other)";
  unlisted.add(name);
  return name;
}
