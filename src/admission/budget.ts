/**
 * The time budget of one review. Evaluation is synchronous, so it cannot be interrupted; what
 * can be done is to stop starting rules once the deadline has passed. Each rule is wrapped once
 * (at startup) with a check of the deadline; a rule that starts late throws, the engine records
 * that it could not judge, and the webhook answers "allowed, not fully checked" instead of
 * letting the API server time out. A single rule that runs away on its own is not covered.
 */
import { performance } from 'node:perf_hooks'
import type { PodRule } from '../engine/rule.js'

/** The message of the error a late rule throws; the webhook recognises its problems by it. */
export const BUDGET_EXCEEDED = 'pod-preflight time budget exceeded'

export class BudgetExceededError extends Error {
  override readonly name = 'BudgetExceededError'
  constructor() {
    super(BUDGET_EXCEEDED)
  }
}

/** Shared by every wrapped rule; reset before each evaluation (evaluation never interleaves). */
export interface Budget {
  /** performance.now() value after which no further rule starts. */
  deadline: number
  /** Set when a rule was not run because the deadline had passed. */
  exceeded: boolean
  now(): number
}

export function createBudget(now: () => number = () => performance.now()): Budget {
  return { deadline: Infinity, exceeded: false, now }
}

export function budgetedRules(rules: readonly PodRule<unknown>[], budget: Budget): PodRule<unknown>[] {
  return rules.map((rule) => ({
    ...rule,
    check(pod, ctx) {
      if (budget.now() > budget.deadline) {
        budget.exceeded = true
        throw new BudgetExceededError()
      }
      return rule.check(pod, ctx)
    },
  }))
}
