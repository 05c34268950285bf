import { EMPTY, OP, type RegexProgram, type RegexPrograms } from "./program.ts";

// Written by hand, on purpose: re2js (RE2's JavaScript port, which compiles every pattern in the
// control plane) is 147 KiB minified, the whole budget of the edge bundle (150 KiB, ~137 KiB
// used), and the edge needs none of its parser. This is the part of RE2 a boolean full match
// needs: Thompson's simulation of RE2's compiled program (RE2's NFA, without captures) whose
// steps are remembered as the states of a DFA built lazily (as RE2's DFA is), with a memory
// budget past which the remembered states are dropped and rebuilt. Each step holds each
// instruction at most once, so a match costs at most O(input length × instructions), whatever
// the pattern and the input: nothing backtracks. A remembered step costs a table lookup.

/** The most numbers one matcher's remembered states may hold (instructions and transitions), ~64 KiB. */
const STATE_BUDGET = 16 * 1024;
/** Above this many (rune class, context) pairs a state remembers its transitions in a Map instead of an array. */
const DENSE_TRANSITIONS = 256;
/** A match that has built this many states, at least one per 4 code points, continues without the DFA. */
const THRASH_STATES = 64;

/** A set of instructions in insertion order (Briggs–Torczon sparse set: O(1) add, test and clear). */
class ThreadList {
  readonly dense: Int32Array;
  private readonly sparse: Int32Array;
  size = 0;
  constructor(n: number) {
    this.dense = new Int32Array(n);
    this.sparse = new Int32Array(n);
  }
  has(pc: number): boolean {
    const j = this.sparse[pc];
    return j < this.size && this.dense[j] === pc;
  }
  add(pc: number): void {
    this.sparse[pc] = this.size;
    this.dense[this.size++] = pc;
  }
}

/** A DFA state: the instructions that read the next code point (or accept), and where each input leads. */
type State = {
  readonly pcs: Int32Array;
  readonly accepting: boolean;
  readonly next: Int32Array | Map<number, number>;
};

const isWord = (r: number) => (r >= 48 && r <= 57) || (r >= 65 && r <= 90) || r === 95 || (r >= 97 && r <= 122);

/** The empty-width conditions that hold between code point `before` and code point `after` (-1: the text's edge). */
function context(before: number, after: number): number {
  let flags = 0;
  if (before < 0) flags |= EMPTY.BEGIN_TEXT | EMPTY.BEGIN_LINE;
  else if (before === 10) flags |= EMPTY.BEGIN_LINE;
  if (after < 0) flags |= EMPTY.END_TEXT | EMPTY.END_LINE;
  else if (after === 10) flags |= EMPTY.END_LINE;
  return flags | (isWord(before) !== isWord(after) ? EMPTY.WORD_BOUNDARY : EMPTY.NO_WORD_BOUNDARY);
}

/** Whether code point `r` falls in one of a set's ascending [lo, hi] ranges (binary search). */
function inSet(set: Int32Array, r: number): boolean {
  let lo = 0;
  let hi = set.length >> 1;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (r < set[2 * m]) hi = m;
    else if (r > set[2 * m + 1]) lo = m + 1;
    else return true;
  }
  return false;
}

/**
 * Code points split into classes that every instruction treats alike (and the word and newline
 * tests of assertions, when the program has any): a step depends on the class, not the code point.
 */
function runeClasses(p: RegexProgram, conditions: number): { classOf: (r: number) => number; count: number } {
  const bounds = new Set<number>();
  for (const set of p.sets) for (let j = 0; j < set.length; j += 2) bounds.add(set[j]).add(set[j + 1] + 1);
  const hasOp = (o: number) => p.code.some((v, i) => i % 3 === 0 && v === o);
  if (hasOp(OP.ANY_NOT_NL) || conditions & (EMPTY.BEGIN_LINE | EMPTY.END_LINE)) bounds.add(10).add(11);
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
    return lo; // how many bounds are <= r
  };
  const latin1 = Int32Array.from({ length: 256 }, (_, r) => search(r));
  return { classOf: (r) => (r < 256 ? latin1[r] : search(r)), count: sorted.length + 1 };
}

/** The conditions that can differ between two positions after the first, as a number below 32 (BEGIN_TEXT left out). */
const contextIndex = (flags: number) => (flags & 3) | ((flags & 56) >> 1);
const CONTEXTS = 32;

/**
 * A test of whether a whole string matches a compiled program (a full match, as Gateway API's
 * RegularExpression and RE2's FullMatch), built once per snapshot. Input is read by code point, as
 * RE2 reads it (a lone surrogate is one code point). Not re-entrant: it reuses its thread lists,
 * which a synchronous call makes safe.
 *
 * @example linearMatcher(program)("/api/v2/users/42") // true for `/api/v[0-9]+/users/[0-9]+`
 */
export function linearMatcher(p: RegexProgram): (input: string) => boolean {
  const n = p.code.length / 3;
  const op = new Uint8Array(n);
  const next = new Int32Array(n);
  const arg = new Int32Array(n);
  let conditions = 0; // every condition some EMPTY instruction asks for
  for (let i = 0; i < n; i++) {
    [op[i], next[i], arg[i]] = [p.code[3 * i], p.code[3 * i + 1], p.code[3 * i + 2]];
    if (op[i] === OP.EMPTY) conditions |= arg[i];
  }
  const sets = p.sets.map((s) => Int32Array.from(s));
  const { classOf, count: classes } = runeClasses(p, conditions);
  // After a code point the text never begins: only these conditions can tell two steps apart.
  const relevant = conditions & ~EMPTY.BEGIN_TEXT;
  const transitions = relevant ? classes * CONTEXTS : classes;
  const dense = transitions <= DENSE_TRANSITIONS;
  let cur = new ThreadList(n);
  let nxt = new ThreadList(n);
  const stack = new Int32Array(n);

  // Adds `pc` and what it reaches without reading input (branches, and assertions that hold here).
  const add = (list: ThreadList, pc: number, flags: number) => {
    if (list.has(pc)) return;
    list.add(pc);
    let sp = 0;
    stack[sp++] = pc;
    while (sp > 0) {
      const i = stack[--sp];
      const o = op[i];
      if (o !== OP.ALT && (o !== OP.EMPTY || (arg[i] & ~flags) !== 0)) continue;
      const a = next[i];
      if (!list.has(a)) {
        list.add(a);
        stack[sp++] = a;
      }
      const b = arg[i];
      if (o === OP.ALT && !list.has(b)) {
        list.add(b);
        stack[sp++] = b;
      }
    }
  };

  // Adds to `to` where each instruction of `from` that takes `r` continues (one NFA step).
  const advance = (from: ArrayLike<number>, size: number, to: ThreadList, r: number, flags: number) => {
    to.size = 0;
    for (let k = 0; k < size; k++) {
      const pc = from[k];
      const o = op[pc];
      if ((o === OP.RUNES && inSet(sets[arg[pc]], r)) || o === OP.ANY || (o === OP.ANY_NOT_NL && r !== 10))
        add(to, next[pc], flags);
    }
  };

  let states: State[] = [];
  let byPcs = new Map<string, number>();
  let starts = new Map<number, number>();
  let held = 0;

  // The state of the instructions in `list` that read input or accept (the others have done their part).
  const intern = (list: ThreadList): number => {
    const pcs: number[] = [];
    for (let k = 0; k < list.size; k++) {
      const o = op[list.dense[k]];
      if (o !== OP.ALT && o !== OP.EMPTY && o !== OP.FAIL) pcs.push(list.dense[k]);
    }
    pcs.sort((a, b) => a - b);
    const key = pcs.join(",");
    const known = byPcs.get(key);
    if (known !== undefined) return known;
    const size = pcs.length + (dense ? transitions : 0);
    if (held + size > STATE_BUDGET) {
      // Over budget (an input that keeps meeting new states): forget them all, as RE2's DFA does.
      states = [];
      byPcs = new Map();
      starts = new Map();
      held = 0;
    }
    held += size;
    const state: State = {
      pcs: Int32Array.from(pcs),
      accepting: pcs.some((pc) => op[pc] === OP.MATCH),
      next: dense ? new Int32Array(transitions).fill(-1) : new Map(),
    };
    byPcs.set(key, states.length);
    return states.push(state) - 1;
  };

  const start = (flags: number) => {
    let s = starts.get(flags);
    if (s === undefined) {
      nxt.size = 0;
      add(nxt, p.start, flags);
      s = intern(nxt);
      starts.set(flags, s);
    }
    return s;
  };

  // The rest of a match without the DFA, when the input meets a new state at nearly every step
  // (a pattern whose DFA is exponential, e.g. `[ab]*a[ab]{20}`): interning would cost more than it saves.
  const simulate = (from: State, input: string, pos: number, r: number) => {
    const len = input.length;
    cur.size = 0;
    for (const pc of from.pcs) cur.add(pc);
    while (r >= 0) {
      if (cur.size === 0) return false;
      const width = r > 0xffff ? 2 : 1;
      const after = pos + width < len ? input.codePointAt(pos + width)! : -1;
      advance(cur.dense, cur.size, nxt, r, context(r, after));
      const t = cur;
      cur = nxt;
      nxt = t;
      pos += width;
      r = after;
    }
    for (let k = 0; k < cur.size; k++) if (op[cur.dense[k]] === OP.MATCH) return true;
    return false;
  };

  return (input) => {
    const len = input.length;
    let r = len > 0 ? input.codePointAt(0)! : -1;
    let s = start(context(-1, r));
    let pos = 0;
    let built = 0;
    while (r >= 0) {
      const state = states[s];
      if (state.pcs.length === 0) return false;
      const width = r > 0xffff ? 2 : 1;
      const after = pos + width < len ? input.codePointAt(pos + width)! : -1;
      const flags = relevant ? context(r, after) : 0;
      const key = relevant ? classOf(r) * CONTEXTS + contextIndex(flags & relevant) : classOf(r);
      const t = dense ? (state.next as Int32Array)[key] : ((state.next as Map<number, number>).get(key) ?? -1);
      if (t >= 0) s = t;
      else {
        if (++built > THRASH_STATES && built * 4 > pos) return simulate(state, input, pos, r);
        advance(state.pcs, state.pcs.length, nxt, r, flags);
        s = intern(nxt);
        // A reset inside intern() dropped `state`: remembering on it is harmless.
        if (dense) (state.next as Int32Array)[key] = s;
        else {
          (state.next as Map<number, number>).set(key, s);
          held++;
        }
      }
      pos += width;
      r = after;
    }
    return states[s].accepting;
  };
}

/**
 * The matcher of one of a snapshot's regular expressions, from the program the control plane
 * compiled for it (Snapshot.regexes). A snapshot without it is malformed: the throw rejects it.
 */
export function regexMatcher(programs: RegexPrograms | undefined, source: string): (input: string) => boolean {
  if (!programs || !Object.hasOwn(programs, source))
    throw new Error(`the snapshot has no compiled program for the regular expression ${JSON.stringify(source)}`);
  return linearMatcher(programs[source]);
}
