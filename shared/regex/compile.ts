import { RE2JS, RE2JSException } from "re2js";
import { MAX_INSTRUCTIONS, MAX_RUNE, OP, RegexProgram, type RegexPrograms } from "./program.ts";

// The control plane's half of linear-time matching: RE2 (re2js, its JavaScript port) parses and
// compiles each pattern; its program is reduced to shared/regex/program.ts's form for the edges.
// re2js's types expose the compiled program (`re2Input.prog`) but do not document its
// instructions, so package.json pins re2js to one version and test/unit/regex.test.ts checks this
// translation against re2js's own matcher on generated patterns and inputs.

/** re2js's instruction codes (its Inst class) and the fold-case flag of a RUNE instruction. */
const RE2_OP = {
  ALT: 1,
  ALT_MATCH: 2,
  CAPTURE: 3,
  EMPTY_WIDTH: 4,
  FAIL: 5,
  MATCH: 6,
  NOP: 7,
  RUNE: 8,
  RUNE1: 9,
  RUNE_ANY: 10,
  RUNE_ANY_NOT_NL: 11,
} as const;
const FOLD_CASE = 1;

type Re2Inst = { op: number; out: number; arg: number; runes: Int32Array };
type Re2Prog = { inst: Re2Inst[]; start: number };

export type CompiledRegex = { ok: true; program: RegexProgram } | { ok: false; reason: string };

/** What RE2 refuses that JavaScript accepted, with what to write instead (RE2's own message says only "invalid"). */
const HINTS: [RegExp, string][] = [
  [/\(\?<?[=!]/, "lookahead and lookbehind are not RE2 syntax: they cannot run in linear time"],
  [/\\[1-9]|\\k</, "backreferences are not RE2 syntax: they cannot run in linear time"],
  [/\\u/, "write a code point as \\x{HHHH}, not \\uHHHH"],
  [/\\c/, "write a control character as \\x{HH}, not \\cX"],
];

const cache = new Map<string, CompiledRegex>();
const CACHE_SIZE = 512;

/**
 * A pattern (RE2 syntax, Perl flags as RE2's default: `^`/`$` at the text's edges, `.` not \n)
 * compiled for full-match on the edges, or why it cannot be: not RE2 syntax, or a program larger
 * than MAX_INSTRUCTIONS. Cached, as apply validates a pattern and then compiles snapshots with it.
 */
export function compileRegex(source: string): CompiledRegex {
  let out = cache.get(source);
  if (!out) {
    out = compile(source);
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
    cache.set(source, out);
  }
  return out;
}

/** The programs of patterns known to compile (validated at apply), by source; a pattern that does not is an error. */
export function compileRegexes(sources: Iterable<string>): RegexPrograms {
  const programs: RegexPrograms = {};
  for (const source of [...new Set(sources)].sort()) {
    const compiled = compileRegex(source);
    if (!compiled.ok) throw new Error(`regular expression ${JSON.stringify(source)}: ${compiled.reason}`);
    programs[source] = compiled.program;
  }
  return programs;
}

function compile(source: string): CompiledRegex {
  let prog: Re2Prog;
  try {
    prog = RE2JS.compile(source).re2Input.prog as Re2Prog;
  } catch (e) {
    if (!(e instanceof RE2JSException)) throw e;
    const hint = HINTS.find(([pattern]) => pattern.test(source))?.[1];
    return {
      ok: false,
      reason: `not RE2 syntax: ${e.message.replace(/^error parsing regexp: /, "")}${hint ? ` (${hint})` : ""}`,
    };
  }
  // Instructions that only mark a place (captures, no-ops) are skipped: a full match needs none.
  const skip = (pc: number) => {
    for (let steps = 0; steps <= prog.inst.length; steps++) {
      const op = prog.inst[pc].op;
      if (op !== RE2_OP.NOP && op !== RE2_OP.CAPTURE) return pc;
      pc = prog.inst[pc].out;
    }
    throw new Error(`re2js program of ${JSON.stringify(source)} loops through no-ops`);
  };
  const index = new Map<number, number>();
  const order: number[] = [];
  const visit = (pc: number) => {
    const at = skip(pc);
    if (!index.has(at)) {
      index.set(at, order.length);
      order.push(at);
    }
    return at;
  };
  visit(prog.start);
  for (let k = 0; k < order.length && order.length <= MAX_INSTRUCTIONS; k++) {
    const i = prog.inst[order[k]];
    if (i.op === RE2_OP.ALT || i.op === RE2_OP.ALT_MATCH) visit(i.arg);
    if (i.op !== RE2_OP.MATCH && i.op !== RE2_OP.FAIL) visit(i.out);
  }
  if (order.length > MAX_INSTRUCTIONS)
    return {
      ok: false,
      reason: `compiles to more than ${MAX_INSTRUCTIONS} instructions (the limit that bounds its cost per character): use fewer or smaller counted repetitions`,
    };
  const sets: number[][] = [];
  const setIndex = new Map<string, number>();
  const setOf = (runes: number[]) => {
    const key = runes.join(",");
    let j = setIndex.get(key);
    if (j === undefined) setIndex.set(key, (j = sets.push(runes) - 1));
    return j;
  };
  const to = (pc: number) => index.get(skip(pc))!;
  const code = order.flatMap((pc) => {
    const i = prog.inst[pc];
    switch (i.op) {
      case RE2_OP.MATCH:
        return [OP.MATCH, 0, 0];
      case RE2_OP.FAIL:
        return [OP.FAIL, 0, 0];
      case RE2_OP.ALT:
      case RE2_OP.ALT_MATCH:
        return [OP.ALT, to(i.out), to(i.arg)];
      case RE2_OP.EMPTY_WIDTH:
        return [OP.EMPTY, to(i.out), i.arg];
      case RE2_OP.RUNE_ANY:
        return [OP.ANY, to(i.out), 0];
      case RE2_OP.RUNE_ANY_NOT_NL:
        return [OP.ANY_NOT_NL, to(i.out), 0];
      case RE2_OP.RUNE:
      case RE2_OP.RUNE1:
        return [OP.RUNES, to(i.out), setOf(runeSet(i))];
      default:
        throw new Error(`re2js instruction ${i.op} of ${JSON.stringify(source)} has no linear-matcher form`);
    }
  });
  return { ok: true, program: RegexProgram.parse({ start: 0, code, sets }) };
}

/** A RUNE instruction's code points as ranges: a case-folded rune becomes its whole case orbit. */
function runeSet(i: Re2Inst): number[] {
  if (i.runes.length !== 1) {
    if (i.arg & FOLD_CASE) throw new Error("re2js folds case only on a single rune");
    return [...i.runes];
  }
  const r = i.runes[0];
  return i.arg & FOLD_CASE ? caseOrbit(r) : [r, r];
}

const orbits = new Map<number, number[]>();

/**
 * Every code point RE2 takes as `r` under (?i), as ranges. RE2 folds a bracketed class by its
 * whole orbit, so the class of `r` and a code point no orbit holds (U+10FFFF) is the orbit and
 * that code point (checked for every folding code point when this was written).
 */
function caseOrbit(r: number): number[] {
  let out = orbits.get(r);
  if (!out) {
    const hex = (c: number) => c.toString(16);
    const prog = RE2JS.compile(`(?i:[\\x{${hex(r)}}\\x{${hex(MAX_RUNE)}}])`).re2Input.prog as Re2Prog;
    const runes = [...prog.inst.find((i) => i.op === RE2_OP.RUNE)!.runes];
    if (runes.at(-1) !== MAX_RUNE) throw new Error(`unexpected case orbit of U+${hex(r)}`);
    out = runes.at(-2) === MAX_RUNE ? runes.slice(0, -2) : [...runes.slice(0, -1), MAX_RUNE - 1];
    orbits.set(r, out);
  }
  return out;
}
