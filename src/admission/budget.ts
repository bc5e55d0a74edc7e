/**
 * The time budget of one review. Evaluation is synchronous, so it cannot be interrupted from
 * outside; instead the rules check the deadline themselves. Each rule is wrapped once (at
 * startup) with a check before it starts, and the engine makes the budget current while a rule
 * runs, so the loops that grow with the input (see src/engine/deadline.ts) stop a rule that
 * runs long. A rule stopped or not started throws; the engine records that it could not judge,
 * and the webhook answers "allowed, not fully checked" instead of letting the API server time
 * out.
 */
import { performance } from 'node:perf_hooks'
import { isObjectRule, type ObjectRule, type PodRule } from '../engine/rule.js'
import { BUDGET_EXCEEDED, BudgetExceededError, checkDeadlineNow, withBudget, type Budget } from '../engine/deadline.js'

export { BUDGET_EXCEEDED, BudgetExceededError, type Budget }

export function createBudget(now: () => number = () => performance.now()): Budget {
  return { deadline: Infinity, exceeded: false, now }
}

export function budgetedRules(rules: readonly PodRule<unknown>[], budget: Budget): PodRule<unknown>[] {
  return rules.map((rule) => {
    const wrapped: PodRule<unknown> = {
      ...rule,
      check(pod, ctx) {
        return withBudget(budget, () => {
          checkDeadlineNow()
          return rule.check(pod, ctx)
        })
      },
    }
    if (isObjectRule(rule)) {
      const checkObject: ObjectRule<unknown>['checkObject'] = (view, ctx) =>
        withBudget(budget, () => {
          checkDeadlineNow()
          return rule.checkObject(view, ctx)
        })
      return { ...wrapped, checkObject } as ObjectRule<unknown>
    }
    return wrapped
  })
}
