/**
 * The deadline of one evaluation, checked inside the loops whose work grows with the input.
 *
 * Evaluation is synchronous and cannot be interrupted from outside, so a rule that meets a
 * huge input has to notice the time itself. The engine makes the caller's budget current while
 * a rule runs; loops that scale with what they read (the shell lexer, `$(VAR)` scanning, env
 * lists, per-word rule loops) call `checkDeadline()`, which looks at the clock once every
 * `CHECK_EVERY` calls and throws `BudgetExceededError` once the deadline has passed. The
 * engine turns that into a problem of the object, and the webhook answers "over budget" as
 * documented. Without a budget (the CLI), checking costs one counter increment.
 */

/** The message of the error a late rule throws; the webhook recognises its problems by it. */
export const BUDGET_EXCEEDED = 'pod-preflight time budget exceeded'

export class BudgetExceededError extends Error {
  override readonly name = 'BudgetExceededError'
  constructor() {
    super(BUDGET_EXCEEDED)
  }
}

/** A time budget shared by the rules of one evaluation. */
export interface Budget {
  /** Clock value after which no further work may be done. */
  deadline: number
  /** Set once work was abandoned because the deadline had passed. */
  exceeded: boolean
  now(): number
}

/** How many calls pass between two looks at the clock: a clock read costs about as much as a few hundred loop steps. */
const CHECK_EVERY = 256

let current: Budget | undefined
let calls = 0

/** Runs `fn` with `budget` as the one `checkDeadline()` consults (nested calls restore the outer one). */
export function withBudget<T>(budget: Budget | undefined, fn: () => T): T {
  const outer = current
  current = budget
  try {
    return fn()
  } finally {
    current = outer
  }
}

/** Throws BudgetExceededError when the current budget's deadline has passed; cheap enough for inner loops. */
export function checkDeadline(): void {
  if (current === undefined) return
  if (++calls % CHECK_EVERY !== 0) return
  expireIfLate(current)
}

/** The same check without the sampling: for the start of a unit of work. */
export function checkDeadlineNow(): void {
  if (current !== undefined) expireIfLate(current)
}

function expireIfLate(budget: Budget): void {
  if (budget.exceeded || budget.now() > budget.deadline) {
    budget.exceeded = true
    throw new BudgetExceededError()
  }
}
