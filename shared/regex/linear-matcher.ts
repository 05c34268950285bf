import { context, Nfa, ThreadList } from "./nfa.ts";
import { EMPTY, OP, type RegexProgram, type RegexPrograms } from "./program.ts";
import { runeClasses } from "./rune-classes.ts";

// Written by hand, on purpose: re2js (RE2's JavaScript port, which compiles every pattern in the
// control plane) is 147 KiB minified, the whole budget of the edge bundle (150 KiB, ~137 KiB
// used), and the edge needs none of its parser. This is the part of RE2 a boolean full match
// needs: the NFA simulation (shared/regex/nfa.ts), its steps remembered as the states of a DFA
// built lazily (as RE2's DFA is), within a memory budget past which the states are forgotten.
// Each step holds each instruction at most once, so a match costs at most O(input length ×
// instructions), whatever the pattern and the input: nothing backtracks. A remembered step costs
// a table lookup.

/** The most numbers one matcher's remembered states may hold (instructions and transitions), ~64 KiB. */
const STATE_BUDGET = 16 * 1024;
/** Above this many (rune class, context) pairs a state remembers its transitions in a Map instead of a table row. */
const DENSE_TRANSITIONS = 256;
/** A match that has computed this many steps, at least one per 4 code points, continues without the DFA. */
const THRASH_STEPS = 64;

/**
 * The conditions a program's assertions ask for, packed into an index below `count`: a step
 * depends on them only (BEGIN_TEXT never holds after a code point, so it is left out).
 */
function contextIndex(conditions: number): { index: Uint8Array; count: number } {
  const bits = [1, 2, 8, 16, 32].filter((b) => conditions & b);
  const index = Uint8Array.from({ length: 64 }, (_, flags) =>
    bits.reduce((packed, b, i) => (flags & b ? packed | (1 << i) : packed), 0),
  );
  return { index, count: 1 << bits.length };
}

/**
 * A test of whether a whole string matches a compiled program (a full match, as Gateway API's
 * RegularExpression and RE2's FullMatch), built once per snapshot. Input is read by code point, as
 * RE2 reads it (a lone surrogate is one code point). Not re-entrant: it reuses its thread lists,
 * which a synchronous call makes safe.
 *
 * @example linearMatcher(program)("/api/v2/users/42") // true for `/api/v[0-9]+/users/[0-9]+`
 */
export function linearMatcher(p: RegexProgram): (input: string) => boolean {
  const nfa = new Nfa(p);
  const { latin1, above, count } = runeClasses(p, nfa.conditions);
  // After a code point the text never begins: only these conditions can tell two steps apart.
  const relevant = nfa.conditions & ~EMPTY.BEGIN_TEXT;
  const contexts = contextIndex(relevant);
  const width = count * contexts.count; // transitions per state
  const dense = width <= DENSE_TRANSITIONS;
  let list = new ThreadList(nfa.size);
  let other = new ThreadList(nfa.size);

  // The DFA: each state's waiting instructions, whether it accepts, and its transitions (a row of
  // `table`, -1 where not yet computed, or a Map). `generation` counts the times it was forgotten.
  let pcs: Int32Array[] = [];
  let accepting: boolean[] = [];
  let table = new Int32Array(dense ? 4 * width : 0).fill(-1);
  let sparse: Map<number, number>[] = [];
  let byKey = new Map<string, number>();
  let starts = new Map<number, number>();
  let held = 0;
  let dead = -1;
  let generation = 0;

  const forget = () => {
    pcs = [];
    accepting = [];
    table.fill(-1);
    sparse = [];
    byKey = new Map();
    starts = new Map();
    held = 0;
    dead = -1;
    generation++;
  };

  // The state of the instructions in `l` that read input or accept (the others have done their part).
  const intern = (l: ThreadList): number => {
    const waiting: number[] = [];
    for (let k = 0; k < l.size; k++) if (nfa.waits(l.dense[k])) waiting.push(l.dense[k]);
    waiting.sort((a, b) => a - b);
    const key = waiting.join(",");
    const known = byKey.get(key);
    if (known !== undefined) return known;
    const cost = waiting.length + (dense ? width : 0);
    // Over budget (an input that keeps meeting new states): forget them all, as RE2's DFA does.
    if (held + cost > STATE_BUDGET) forget();
    held += cost;
    const s = pcs.length;
    pcs.push(Int32Array.from(waiting));
    accepting.push(waiting.some((pc) => nfa.op[pc] === OP.MATCH));
    if (!dense) sparse.push(new Map());
    else if ((s + 1) * width > table.length) {
      const grown = new Int32Array(2 * table.length).fill(-1);
      grown.set(table);
      table = grown;
    }
    if (waiting.length === 0) dead = s;
    byKey.set(key, s);
    return s;
  };

  const start = (flags: number) => {
    let s = starts.get(flags);
    if (s === undefined) {
      list.size = 0;
      nfa.add(list, p.start, flags);
      s = intern(list);
      starts.set(flags, s);
    }
    return s;
  };

  // The rest of a match without the DFA, when the input meets a new state at nearly every step
  // (a pattern whose DFA is exponential, e.g. `[ab]*a[ab]{20}`): interning would cost more than it saves.
  const simulate = (from: Int32Array, input: string, pos: number, r: number) => {
    const len = input.length;
    list.size = 0;
    for (const pc of from) list.add(pc);
    while (r >= 0) {
      if (list.size === 0) return false;
      const w = r > 0xffff ? 2 : 1;
      const after = pos + w < len ? input.codePointAt(pos + w)! : -1;
      nfa.step(list.dense, list.size, other, r, context(r, after));
      const t = list;
      list = other;
      other = t;
      pos += w;
      r = after;
    }
    for (let k = 0; k < list.size; k++) if (nfa.op[list.dense[k]] === OP.MATCH) return true;
    return false;
  };

  return (input) => {
    const len = input.length;
    let s = start(context(-1, len > 0 ? input.codePointAt(0)! : -1));
    let steps = 0;
    let row = table; // a local copy of the table, refreshed when a new state may have grown it
    for (let pos = 0; pos < len;) {
      if (s === dead) return false;
      const at = pos;
      let r = input.charCodeAt(pos++);
      if (r >= 0xd800 && r <= 0xdbff && pos < len) {
        const low = input.charCodeAt(pos);
        if (low >= 0xdc00 && low <= 0xdfff) {
          r = ((r - 0xd800) << 10) + (low - 0xdc00) + 0x10000;
          pos++;
        }
      }
      let flags = 0;
      let key = r < 256 ? latin1[r] : above(r);
      if (relevant) {
        flags = context(r, pos < len ? input.codePointAt(pos)! : -1);
        key = key * contexts.count + contexts.index[flags];
      }
      let t = dense ? row[s * width + key] : (sparse[s].get(key) ?? -1);
      if (t < 0) {
        if (++steps > THRASH_STEPS && steps * 4 > at) return simulate(pcs[s], input, at, r);
        nfa.step(pcs[s], pcs[s].length, list, r, flags);
        const before = generation;
        t = intern(list);
        row = table;
        if (generation === before) {
          if (dense) row[s * width + key] = t;
          else {
            sparse[s].set(key, t);
            held++;
          }
        }
      }
      s = t;
    }
    return accepting[s];
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
