import * as z from "zod/mini";

// A regular expression as the data plane runs it: RE2's instruction program, compiled by RE2
// itself (re2js, in the control plane: shared/regex/compile.ts) and reduced to what a boolean
// full match needs; shared/regex/linear-matcher.ts runs it in time linear in the input. zod/mini,
// as every part of the snapshot (shared/snapshot/schema.ts).

/** Instruction codes. RUNES tests the input's next code point against a set, ANY takes any, ANY_NOT_NL any but \n. */
export const OP = { MATCH: 0, FAIL: 1, ALT: 2, EMPTY: 3, RUNES: 4, ANY: 5, ANY_NOT_NL: 6 } as const;

/** The conditions of an EMPTY instruction (RE2's empty-width assertions: ^ $ \A \z \b \B and their multi-line forms). */
export const EMPTY = {
  BEGIN_LINE: 1,
  END_LINE: 2,
  BEGIN_TEXT: 4,
  END_TEXT: 8,
  WORD_BOUNDARY: 16,
  NO_WORD_BOUNDARY: 32,
} as const;

export const MAX_RUNE = 0x10ffff;

/**
 * The most instructions a program may have. The matcher's work per input character is bounded by
 * the instructions alive at once, so this bounds its worst case (BENCHMARKS.md, *Route regular
 * expressions*), as Envoy bounds RE2's program size (`re2.max_program_size.error_level`).
 */
export const MAX_INSTRUCTIONS = 256;

const Int = z.number().check(z.int());

export const RegexProgram = z
  .object({
    /** The instruction the match starts at. */
    start: Int,
    /** Three numbers per instruction: op, next instruction, argument (ALT: the other branch; EMPTY: its conditions; RUNES: its set). */
    code: z.array(Int),
    /** The code point sets RUNES instructions name by index: ascending, disjoint inclusive ranges, flattened [lo, hi, lo, hi, …]. */
    sets: z.array(z.array(Int)),
  })
  .check(
    z.superRefine((p, ctx) => {
      const message = malformation(p);
      if (message) ctx.addIssue({ code: "custom", message });
    }),
  );
export type RegexProgram = z.infer<typeof RegexProgram>;

/**
 * What makes a program unsafe to run, if anything: every jump and set index in range, every set
 * sorted, at most MAX_INSTRUCTIONS. The matcher trusts a program that passes.
 */
function malformation(p: { start: number; code: number[]; sets: number[][] }): string | undefined {
  const n = p.code.length / 3;
  if (!Number.isInteger(n) || n < 1) return "code must hold three numbers per instruction";
  if (n > MAX_INSTRUCTIONS) return `more than ${MAX_INSTRUCTIONS} instructions`;
  const pc = (v: number) => v >= 0 && v < n;
  if (!pc(p.start)) return "start is not an instruction";
  for (let i = 0; i < n; i++) {
    const [op, next, arg] = [p.code[3 * i], p.code[3 * i + 1], p.code[3 * i + 2]];
    if (op === OP.MATCH || op === OP.FAIL) continue;
    if (op < OP.ALT || op > OP.ANY_NOT_NL) return `instruction ${i}: unknown op ${op}`;
    if (!pc(next)) return `instruction ${i}: next is not an instruction`;
    if (op === OP.ALT && !pc(arg)) return `instruction ${i}: branch is not an instruction`;
    if (op === OP.EMPTY && (arg < 0 || arg > 63)) return `instruction ${i}: unknown conditions ${arg}`;
    if (op === OP.RUNES && !(arg >= 0 && arg < p.sets.length)) return `instruction ${i}: no set ${arg}`;
  }
  for (const [i, set] of p.sets.entries()) {
    if (set.length === 0 || set.length % 2) return `set ${i}: not [lo, hi] pairs`;
    for (let j = 0; j < set.length; j++)
      if (set[j] < (j ? set[j - 1] + (j % 2 ? 0 : 1) : 0) || set[j] > MAX_RUNE)
        return `set ${i}: ranges not ascending and disjoint code points`;
  }
  return undefined;
}

/** Every compiled regex of a snapshot, by its source as the resources wrote it. */
export const RegexPrograms = z.record(z.string(), RegexProgram);
export type RegexPrograms = z.infer<typeof RegexPrograms>;
