import { EMPTY, OP, type RegexProgram } from "./program.ts";

// Thompson's simulation of a compiled program (RE2's NFA, without captures): the threads alive
// at a position are a set of instructions, each held once, so a step costs at most one visit
// per instruction. shared/regex/linear-matcher.ts remembers the steps as DFA states.

/** A set of instructions in insertion order (Briggs–Torczon sparse set: O(1) add, test and clear). */
export class ThreadList {
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

const isWord = (r: number) => (r >= 48 && r <= 57) || (r >= 65 && r <= 90) || r === 95 || (r >= 97 && r <= 122);

/** The empty-width conditions that hold between code point `before` and code point `after` (-1: the text's edge). */
export function context(before: number, after: number): number {
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

/** A program decoded for simulation. */
export class Nfa {
  readonly size: number;
  readonly op: Uint8Array;
  private readonly next: Int32Array;
  private readonly arg: Int32Array;
  private readonly sets: Int32Array[];
  private readonly stack: Int32Array;
  /** Every condition some EMPTY instruction asks for. */
  readonly conditions: number;

  constructor(readonly program: RegexProgram) {
    const n = (this.size = program.code.length / 3);
    this.op = new Uint8Array(n);
    this.next = new Int32Array(n);
    this.arg = new Int32Array(n);
    let conditions = 0;
    for (let i = 0; i < n; i++) {
      [this.op[i], this.next[i], this.arg[i]] = [program.code[3 * i], program.code[3 * i + 1], program.code[3 * i + 2]];
      if (this.op[i] === OP.EMPTY) conditions |= this.arg[i];
    }
    this.conditions = conditions;
    this.sets = program.sets.map((s) => Int32Array.from(s));
    this.stack = new Int32Array(n);
  }

  /** Adds `pc` and what it reaches without reading input (branches, and assertions that hold in `flags`). */
  add(list: ThreadList, pc: number, flags: number): void {
    if (list.has(pc)) return;
    list.add(pc);
    const { op, next, arg, stack } = this;
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
  }

  /** One step: where each of `from`'s instructions that takes code point `r` continues, into `to` (cleared first). */
  step(from: ArrayLike<number>, size: number, to: ThreadList, r: number, flags: number): void {
    const { op, next, arg, sets } = this;
    to.size = 0;
    for (let k = 0; k < size; k++) {
      const pc = from[k];
      const o = op[pc];
      if ((o === OP.RUNES && inSet(sets[arg[pc]], r)) || o === OP.ANY || (o === OP.ANY_NOT_NL && r !== 10))
        this.add(to, next[pc], flags);
    }
  }

  /** Whether an instruction reads input or accepts (what a DFA state is made of). */
  waits(pc: number): boolean {
    const o = this.op[pc];
    return o !== OP.ALT && o !== OP.EMPTY && o !== OP.FAIL;
  }
}
