import type { z } from "zod";

// Strict field validation's did-you-mean: the names a schema accepts at a path, read from the zod
// schema itself (so the suggestions can never drift from what is accepted).

type Schema = z.core.$ZodType;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The field names `schema` accepts for the object at `path` of `input`. Unions contribute every
 * option's names, except that a discriminated union looks only at the options matching the
 * input's discriminator (a `URLRewrite` filter has no `requestRedirect`).
 */
export function fieldsAt(schema: Schema, path: readonly PropertyKey[], input: unknown): string[] {
  const out = new Set<string>();
  walk(schema, path, input, out);
  return [...out];
}

function walk(schema: Schema, path: readonly PropertyKey[], input: unknown, out: Set<string>): void {
  const def = (schema as z.core.$ZodTypes)._zod.def;
  const [head, ...rest] = path;
  switch (def.type) {
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "nonoptional":
    case "readonly":
    case "catch":
      return walk(def.innerType, path, input, out);
    case "pipe":
      return walk(def.in, path, input, out);
    case "lazy":
      return walk(def.getter(), path, input, out);
    case "intersection":
      walk(def.left, path, input, out);
      return walk(def.right, path, input, out);
    case "union": {
      const options =
        "discriminator" in def && typeof def.discriminator === "string"
          ? optionsFor(def.options, def.discriminator, input)
          : def.options;
      for (const option of options) walk(option, path, input, out);
      return;
    }
    case "object":
      if (path.length === 0) {
        for (const key of Object.keys(def.shape)) out.add(key);
        return;
      }
      if (typeof head === "string" && def.shape[head])
        walk(def.shape[head], rest, isRecord(input) ? input[head] : undefined, out);
      return;
    case "record":
      if (path.length) walk(def.valueType, rest, isRecord(input) ? input[String(head)] : undefined, out);
      return;
    case "array":
      if (typeof head === "number") walk(def.element, rest, Array.isArray(input) ? input[head] : undefined, out);
      return;
    case "tuple":
      if (typeof head === "number" && def.items[head])
        walk(def.items[head], rest, Array.isArray(input) ? input[head] : undefined, out);
      return;
  }
}

/** The options of a discriminated union that the input's discriminator selects (all when none does). */
function optionsFor(options: readonly Schema[], discriminator: string, input: unknown): readonly Schema[] {
  const value = isRecord(input) ? input[discriminator] : undefined;
  const matching = options.filter((o) =>
    [...(o._zod.propValues?.[discriminator] ?? [])].includes(value as z.core.util.Primitive),
  );
  return matching.length ? matching : options;
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions), case-insensitive. */
function distance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.length][b.length];
}

/**
 * The name the user most likely meant: within a third of the longer name's length in edits, or
 * cut short (`percent` → `percentage`, `clientCert` → `clientCertificate`).
 */
export function closestName(word: string, names: readonly string[]): string | undefined {
  let best: { name: string; score: number } | undefined;
  for (const name of names) {
    const d = distance(word, name);
    const truncated = word.length >= 3 && name.toLowerCase().startsWith(word.toLowerCase());
    if (d > Math.floor(Math.max(word.length, name.length) / 3) && !truncated) continue;
    if (!best || d < best.score) best = { name, score: d };
  }
  return best?.name;
}

/** kubectl's "unknown field", with the likely intended field, else the fields accepted there. */
export function unknownField(key: string, known: readonly string[]): { message: string; guess?: string } {
  const guess = closestName(key, known);
  if (guess) return { message: `unknown field \`${key}\` (did you mean \`${guess}\`?)`, guess };
  return {
    message: known.length ? `unknown field \`${key}\` (fields here: ${known.join(", ")})` : `unknown field \`${key}\``,
  };
}
