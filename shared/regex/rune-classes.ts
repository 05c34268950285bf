import { EMPTY, OP, type RegexProgram } from "./program.ts";

/**
 * Code points split into classes that every instruction of a program treats alike (and the word
 * and newline tests of its assertions, when it has any): a DFA step depends on the class only.
 * The class of a code point below U+0100 is in `latin1`; `above` searches the class bounds.
 */
export function runeClasses(
  p: RegexProgram,
  conditions: number,
): { latin1: Int32Array; above: (r: number) => number; count: number } {
  const bounds = new Set<number>();
  for (const set of p.sets) for (let j = 0; j < set.length; j += 2) bounds.add(set[j]).add(set[j + 1] + 1);
  const anyNotNl = p.code.some((v, i) => i % 3 === 0 && v === OP.ANY_NOT_NL);
  if (anyNotNl || conditions & (EMPTY.BEGIN_LINE | EMPTY.END_LINE)) bounds.add(10).add(11);
  if (conditions & (EMPTY.WORD_BOUNDARY | EMPTY.NO_WORD_BOUNDARY))
    for (const b of [48, 58, 65, 91, 95, 96, 97, 123]) bounds.add(b);
  const sorted = Int32Array.from(bounds).sort();
  const search = (r: number) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (sorted[m] <= r) lo = m + 1;
      else hi = m;
    }
    return lo; // the number of bounds at or below r
  };
  const latin1 = Int32Array.from({ length: 256 }, (_, r) => search(r));
  return { latin1, above: search, count: sorted.length + 1 };
}
