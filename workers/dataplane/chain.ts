import type { StageName } from "../../shared/pipeline.ts";
import { type Exchange, type Next, SKIP, type Stage } from "./exchange.ts";

type Tail<L> = L extends readonly [unknown, ...infer R extends readonly StageName[]] ? R : readonly [];
type AnyNext = Next<Exchange, unknown>;
type Erased = (x: Exchange, next: AnyNext) => Promise<unknown>;

/**
 * Puts stages together in a declared order (shared/pipeline.ts): each `then` must name the next
 * stage of the order and take what the stages before it hand on (a stage before what it needs is a
 * type error), and `build` needs the whole order. `R` is what the pipeline answers (a Response for
 * a fetch, the method's result for an RPC call). A stage with nothing to do for this snapshot
 * (SKIP) is left out, so it costs nothing per request.
 */
class Chain<Cur extends Exchange, R, Rest extends readonly StageName[]> {
  // The stages' own types were checked as they were added; composed, each passes on what it got.
  constructor(private readonly stages: Erased[]) {}

  then<Out extends Cur>(_name: Rest[0], stage: Stage<Cur, Out, R>): Chain<Out, R, Tail<Rest>> {
    return new Chain((stage as unknown) === SKIP ? this.stages : [...this.stages, stage as unknown as Erased]);
  }

  build(this: Chain<Cur, R, readonly []>): <X extends Exchange>(x: X) => Promise<R> {
    const end: AnyNext = () => Promise.reject(new Error("the last stage did not answer"));
    return this.stages.reduceRight<AnyNext>((next, stage) => (x) => stage(x, next), end) as (x: Exchange) => Promise<R>;
  }
}

/** A chain over exchanges of type `X` answering `R`, in the order `_order` names. */
export const chain = <X extends Exchange, R, O extends readonly StageName[]>(_order: O) => new Chain<X, R, O>([]);
