/**
 * A small ring of the last answers of a function, found by the identity of its inputs.
 *
 * The rules of one evaluation ask about the same container objects one after the other, so the
 * last few answers serve them all; a WeakMap costs more than most analyses when pods come and go
 * by the thousand. Inputs must not be modified after they are first asked about, and answers are
 * shared: callers must not modify them either.
 *
 * The engine forgets every ring at the end of each evaluation (`forgetRecentAnswers`): an
 * answer serves only the rules of the object it was computed for, and no ring keeps a past
 * request, or an analysis as large as one, alive after its review.
 */
const rings: RecentAnswers<unknown, unknown, unknown, unknown>[] = []
const forgetters: (() => void)[] = []

/** Registers another per-object memo to be emptied with the rings. */
export function forgetWithRecentAnswers(forget: () => void): void {
  forgetters.push(forget)
}

/** Empties every ring and per-object memo; called by the engine after each object. */
export function forgetRecentAnswers(): void {
  for (const r of rings) r.clear()
  for (const f of forgetters) f()
}

export class RecentAnswers<A, B, C, R> {
  private readonly as: (A | undefined)[]
  private readonly bs: (B | undefined)[]
  private readonly cs: (C | undefined)[]
  private readonly answers: (R | undefined)[]
  /** Entries [0, count) hold answers: they are filled in order from 0 until the ring is full. */
  private count = 0
  private next = 0

  constructor(private readonly size: number) {
    this.as = new Array<A | undefined>(size).fill(undefined)
    this.bs = new Array<B | undefined>(size).fill(undefined)
    this.cs = new Array<C | undefined>(size).fill(undefined)
    this.answers = new Array<R | undefined>(size).fill(undefined)
    rings.push(this as RecentAnswers<unknown, unknown, unknown, unknown>)
  }

  /** Forgets every answer and the inputs it was found by. */
  clear(): void {
    const n = this.count
    if (n === 0) return
    this.as.fill(undefined, 0, n)
    this.bs.fill(undefined, 0, n)
    this.cs.fill(undefined, 0, n)
    this.answers.fill(undefined, 0, n)
    this.count = 0
    this.next = 0
  }

  /**
   * The answer for (a, b, c), computed on a miss by `compute(a, b, c, x)` and remembered in place
   * of the oldest. `x` is handed to `compute` but is not part of the key. A function that is not
   * made per call (rather than a closure over the arguments) keeps a hit free of allocation.
   */
  get<X>(a: A, b: B, c: C, x: X, compute: (a: A, b: B, c: C, x: X) => R): R {
    for (let i = 0; i < this.count; i++) {
      if (this.as[i] === a && this.bs[i] === b && this.cs[i] === c) return this.answers[i] as R
    }
    const answer = compute(a, b, c, x)
    const i = this.next
    this.as[i] = a
    this.bs[i] = b
    this.cs[i] = c
    this.answers[i] = answer
    if (this.count < this.size) this.count++
    this.next = (i + 1) % this.size
    return answer
  }
}
