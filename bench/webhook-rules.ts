/**
 * What each rule costs on the webhook's bench reviews, in this process: fresh copies of one
 * review's object (each with its own sequence number, as the load generator makes them), read
 * into pod views once, then each rule a review runs timed alone over all of them. Besides the rules: the rest of the evaluation (reading the pod template,
 * findings) and the pieces of a review around it (JSON.parse of the body, the depth limit, the
 * cache key, judging), so the table says where a review's CPU goes apart from HTTP and TLS.
 *
 *   node --import=tsx bench/webhook-rules.ts     (bench:webhook and bench:webhook:cpu print it too)
 */
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import { RULES } from '../src/rules/index.js'
import { isDocumentRule, type PodRule, type RuleContext } from '../src/engine/rule.js'
import { extractPod } from '../src/engine/workload.js'
import type { PodView } from '../src/engine/types.js'
import { forgetRecentAnswers } from '../src/engine/recent.js'
import { evaluateObject, type RuleTime } from '../src/engine/evaluate.js'
import { loadDefaultPolicy } from '../src/policy/policy.js'
import { parseJsonBody, valueDepth } from '../src/admission/json-body.js'
import { parseAdmissionReview, typedObject } from '../src/admission/review.js'
import { cacheKey } from '../src/admission/verdict-cache.js'
import { judge } from '../src/admission/verdict.js'
import { createBudget } from '../src/admission/budget.js'
import { DEFAULT_MAX_DEPTH } from '../src/admission/app.js'
import { benchReview, REVISION_PLACEHOLDER } from './webhook-reviews.js'

export interface RuleCost {
  rule: string
  /** Microseconds per evaluation of the object, the rule timed alone. */
  us: number
  /** Microseconds per evaluation as the engine's ruleTimes counted them inside whole evaluations. */
  inEvaluation: number
  /** Share of the time inside rules. */
  share: number
}

export interface ReviewCosts {
  review: string
  /** Microseconds per review of each step, measured separately (the best of a few passes). */
  steps: Record<string, number>
  rules: RuleCost[]
}

/**
 * The best time per item of each step over `passes` passes through its items, in µs. The steps
 * take turns within each pass, so a moment of load on a shared machine does not land on one step.
 */
function bestOf(steps: Record<string, { items: readonly unknown[]; fn: (item: never) => unknown }>, passes: number): Record<string, number> {
  const min: Record<string, number> = {}
  for (let p = 0; p < passes; p++) {
    for (const [name, { items, fn }] of Object.entries(steps)) {
      const run = fn as (item: unknown) => unknown
      const t0 = performance.now()
      for (const item of items) run(item)
      min[name] = Math.min(min[name] ?? Infinity, performance.now() - t0)
    }
  }
  const us: Record<string, number> = {}
  for (const [name, { items }] of Object.entries(steps)) us[name] = ((min[name] ?? NaN) / items.length) * 1000
  return us
}

export async function reviewCosts(names: readonly string[], copies = 300, passes = 9, rulePasses = 4): Promise<ReviewCosts[]> {
  const policy = await loadDefaultPolicy(RULES)
  const plain = RULES as readonly PodRule<unknown>[]
  const out: ReviewCosts[] = []
  for (const name of names) {
    const template = benchReview(name).toString('utf8')
    const bodies = Array.from({ length: copies }, (_, i) => Buffer.from(template.replaceAll(REVISION_PLACEHOLDER, `r99-${String(i).padStart(10, '0')}`)))
    const parsed = bodies.map((b) => JSON.parse(b.toString('utf8')) as unknown)
    const requests = parsed.map((p) => parseAdmissionReview(p))
    const objects = requests.map((r) => typedObject(r.object ?? {}, r.kind))
    const served = (r: (typeof requests)[number]): string => (r.kind.group === '' ? r.kind.version : `${r.kind.group}/${r.kind.version}`)
    const evaluate = (i: number, withRules: readonly PodRule<unknown>[]): unknown =>
      evaluateObject(objects[i], { policy, rules: withRules, servedApiVersion: served(requests[i] as (typeof requests)[number]), namespace: requests[i]?.namespace ?? 'default' })
    const index = bodies.map((_, i) => i)
    const budget = createBudget()
    const steps = bestOf(
      {
        'JSON.parse': { items: bodies, fn: (b: Buffer) => JSON.parse(b.toString('utf8')) },
        'depth limit': { items: parsed, fn: (p: unknown) => valueDepth(p, DEFAULT_MAX_DEPTH) },
        'body read (parse + depth)': { items: bodies, fn: (b: Buffer) => parseJsonBody(b, DEFAULT_MAX_DEPTH) },
        'cache key': { items: objects, fn: (o: Record<string, unknown>) => cacheKey(o, 'default', '') },
        'pod template read (extractPod)': { items: index, fn: (i: number) => extractPod(objects[i], served(requests[i] as (typeof requests)[number])) },
        'evaluation (all rules)': { items: index, fn: (i: number) => evaluate(i, plain) },
        'judge (evaluation, verdict, warnings)': { items: requests, fn: (r: (typeof requests)[number]) => judge(r, Infinity, { policy, rules: plain, budget, budgetMs: 60_000, maxWarnings: 10 }) },
      },
      passes,
    )
    // Each rule alone, on pod views read afresh for every pass (the engine memoises analyses on
    // the objects of one evaluation, so views used twice would flatter the rules): the best pass.
    // An analysis several rules share (the heap reading of a container, say) counts in each of
    // them, so the sum is more than the rules cost together. A garbage collection lands on
    // whichever rule is running, so timing them inside one evaluation would blame the wrong ones.
    const fresh = (): PodView[] => objects.map((o, i) => extractPod(o, served(requests[i] as (typeof requests)[number])).pod).filter((p) => p !== undefined)
    const runnable = plain.filter((rule) => {
      const action = policy.rules.get(rule.id)?.action ?? rule.defaultAction
      // The rules a review runs: those of the static scope, not turned off (no cluster state, no schemas at admission).
      return action !== 'off' && !isDocumentRule(rule) && rule.scope.includes('static')
    })
    const spent = new Map<string, number>()
    for (let p = 0; p < rulePasses; p++) {
      for (const rule of runnable) {
        const ctx: RuleContext<unknown> = { params: policy.rules.get(rule.id)?.params ?? {} }
        const pods = fresh()
        const t0 = performance.now()
        for (const pod of pods) rule.check(pod, ctx)
        const us = ((performance.now() - t0) / pods.length) * 1000
        spent.set(rule.id, Math.min(spent.get(rule.id) ?? Infinity, us))
        forgetRecentAnswers()
      }
    }
    // The engine's own clock around each rule, inside whole evaluations of fresh copies.
    const ruleTimes = new Map<string, RuleTime>()
    for (const [i, o] of objects.entries()) {
      const r = requests[i] as (typeof requests)[number]
      evaluateObject(JSON.parse(JSON.stringify(o)) as unknown, { policy, rules: plain, servedApiVersion: served(r), namespace: r.namespace ?? 'default', ruleTimes })
    }
    const perRule = [...spent].map(([rule, us]) => ({ rule, us, inEvaluation: ((ruleTimes.get(rule)?.ms ?? NaN) / copies) * 1000 }))
    const total = perRule.reduce((a, r) => a + r.us, 0)
    steps['the rules, each timed alone (sum)'] = total
    const costs = perRule.map((r) => ({ ...r, share: r.us / total })).sort((a, b) => b.us - a.us)
    out.push({ review: name, steps, rules: costs })
  }
  return out
}

const fmt = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : 'n/a')

/** The report as Markdown: the steps, then the `top` most expensive rules of each review. */
export function costTables(costs: readonly ReviewCosts[], top = 8): string[] {
  const lines: string[] = []
  for (const c of costs) {
    lines.push('', `${c.review}: CPU per review of each step, in this process (µs)`, '', '| step | µs |', '|---|---:|')
    for (const [step, us] of Object.entries(c.steps)) lines.push(`| ${step} | ${fmt(us)} |`)
    lines.push('', `| rule (top ${top} of ${c.rules.length}) | µs per review, alone | share of rule time | µs inside evaluations (engine's ruleTimes) |`, '|---|---:|---:|---:|')
    for (const r of c.rules.slice(0, top)) lines.push(`| ${r.rule} | ${fmt(r.us)} | ${fmt(r.share * 100)}% | ${fmt(r.inEvaluation)} |`)
  }
  return lines
}

export const COST_REVIEWS = ['Pod CREATE (ReplicaSet-owned)', 'Deployment CREATE (good)'] as const

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(`${costTables(await reviewCosts(COST_REVIEWS)).join('\n')}\n`)
}
