/**
 * Runs the rules of a policy on one object. Pure: no I/O; the same inputs give the same
 * findings in the same order, whichever face (CLI, webhook) asks.
 */
import { globMatch, skipHonoured, type Policy, type Exemption } from '../policy/policy.js'
import { MAX_FINDINGS_PER_RULE, isDocumentRule, isObjectRule, kindKey, type ObjectView, type PodRule, type RuleContext, type RuleFinding, type SchemaCheck } from './rule.js'
import type { ClusterView } from '../cluster/view.js'
import type { RelatedObjects } from './related.js'
import { selectorMatches } from './labels.js'
import { extractPod, isPodBearing, objectRef } from './workload.js'
import { objectMetaShape, type ObjectMeta } from './k8s.js'
import type { Finding, InputProblem, ObjectRef, PodView, ReportAction } from './types.js'
import { forgetRecentAnswers } from './recent.js'
import { safeText } from '../text/sanitize.js'
import { byCodeUnits, byPath, groupDigits } from '../text/order.js'

/** Unknown rule ids of a skip annotation named one by one; the rest are counted. */
const MAX_UNKNOWN_SKIPS = 5

/**
 * At most this many findings of one rule on one object are listed, and at most
 * `MAX_FINDINGS_PER_OBJECT` in all: a hostile or generated object (100,000 `$(UNDEFINED)`
 * arguments, thousands of containers) gives an answer of bounded size. The rest are counted in
 * one summary finding per rule ("…and 99,990 more").
 */
export { MAX_FINDINGS_PER_RULE }
export const MAX_FINDINGS_PER_OBJECT = 100
/** Problems of one object listed at most; the rest are counted. */
export const MAX_PROBLEMS_PER_OBJECT = 50
/** Longest message or fix a finding carries, in characters; longer ones are cut (rules quote excerpts, this is the backstop). */
export const MAX_MESSAGE_LENGTH = 1_000
/** Longest field path and container name a finding carries. */
export const MAX_PATH_LENGTH = 300

/** The annotation that skips rules for one object: a comma-separated list of rule ids. */
export const SKIP_ANNOTATION = 'pod-preflight/skip'

export interface EvaluateOptions {
  policy: Policy
  rules: readonly PodRule<unknown>[]
  /** The namespace of objects that name none (the CLI's --namespace, or the admission request's). */
  namespace?: string
  cluster?: ClusterView
  related?: RelatedObjects
  /**
   * The apiVersion the API server is serving this object in (admission): a version Kubernetes
   * has since removed is not reported as "no longer served" when this cluster still serves it.
   */
  servedApiVersion?: string
  /** Kind schemas: given, the document rules (schema-invalid) run on the kinds they cover. The webhook never gives them. */
  schemas?: SchemaCheck
  /**
   * Given, each rule's time (milliseconds, from `performance.now()`) and number of runs are
   * added to its entry, by rule id: for benchmarks and profiling. Without it no clock is read.
   */
  ruleTimes?: Map<string, RuleTime>
}

/** The time spent in one rule, summed over the objects it judged. */
export interface RuleTime {
  ms: number
  runs: number
}

/** What made a rule not run on an object. */
export type SkipSource = 'annotation' | 'exemption' | 'cluster'

export interface Evaluation {
  /**
   * True when the object was judged: it carries a pod template, or it is of a kind an object
   * rule of this run judges (a Service, an Ingress).
   */
  recognised: boolean
  object: ObjectRef
  findings: Finding[]
  /** Problems of the input: errors make the object unjudgeable in part; warnings are notes. */
  problems: (InputProblem & { severity: 'error' | 'warning' })[]
  /** Rules that did not run because an exemption or annotation skipped them. */
  skipped: { rule: string; reason: string; by: SkipSource }[]
  /** Set when the object carries the skip annotation and the policy does not honour it here. */
  skipRefused?: boolean
}

function exemptionApplies(ex: Exemption, ruleId: string, namespace: string | undefined, labels: Record<string, string>): boolean {
  if (ex.rules !== undefined && !ex.rules.includes(ruleId)) return false
  if (ex.namespaces !== undefined && (namespace === undefined || !ex.namespaces.some((p) => globMatch(p, namespace)))) return false
  if (ex.selector !== undefined && !selectorMatches(ex.selector, labels)) return false
  return true
}

function skipList(pod: PodView): { ids: string[]; where: string } | undefined {
  const fromObject = pod.objectMeta.annotations?.[SKIP_ANNOTATION]
  const fromTemplate = pod.podMeta !== pod.objectMeta ? pod.podMeta.annotations?.[SKIP_ANNOTATION] : undefined
  const text = [fromObject, fromTemplate].filter((s): s is string => s !== undefined).join(',')
  if (text === '') return undefined
  return {
    ids: text.split(',').map((s) => s.trim()).filter((s) => s !== ''),
    where: fromObject !== undefined ? `metadata.annotations["${SKIP_ANNOTATION}"]` : `${pod.specPath.replace(/\.spec$/, '')}.metadata.annotations["${SKIP_ANNOTATION}"]`,
  }
}

function objectSkipList(meta: ObjectMeta): { ids: string[]; where: string } | undefined {
  const text = meta.annotations?.[SKIP_ANNOTATION]
  if (text === undefined || text === '') return undefined
  return { ids: text.split(',').map((s) => s.trim()).filter((s) => s !== ''), where: `metadata.annotations["${SKIP_ANNOTATION}"]` }
}

const ACTION_ORDER: Record<ReportAction, number> = { deny: 0, warn: 1, info: 2 }

interface RuleSet {
  /** The list as it was when this was derived (a caller may change its list between calls). */
  all: readonly PodRule<unknown>[]
  ids: readonly string[]
  /** The pod rules, in order. */
  pod: readonly PodRule<unknown>[]
  /** The rules about every object as written (the schema check), in order. */
  document: readonly PodRule<unknown>[]
  /** The ids of all rules. */
  known: ReadonlySet<string>
  /** The document rules then the pod rules: what a pod-bearing object with schemas runs. */
  documentThenPod: readonly PodRule<unknown>[]
}

function sameRules(set: RuleSet, rules: readonly PodRule<unknown>[]): boolean {
  const { all, ids } = set
  if (all.length !== rules.length) return false
  for (let i = 0; i < all.length; i++) if (all[i] !== rules[i] || ids[i] !== rules[i]!.id) return false
  return true
}

/** What evaluations derive from a rule list, kept per list: callers pass the same list for every object. */
const ruleSets = new WeakMap<readonly PodRule<unknown>[], RuleSet>()
function ruleSet(rules: readonly PodRule<unknown>[]): RuleSet {
  let set = ruleSets.get(rules)
  if (set === undefined || !sameRules(set, rules)) {
    const pod = rules.filter((r) => !isObjectRule(r) && !isDocumentRule(r))
    const document = rules.filter((r) => isDocumentRule(r))
    set = { all: rules.slice(), ids: rules.map((r) => r.id), pod, document, known: new Set(rules.map((r) => r.id)), documentThenPod: [...document, ...pod] }
    ruleSets.set(rules, set)
  }
  return set
}

export function evaluateObject(value: unknown, options: EvaluateOptions): Evaluation {
  try {
    return boundResult(evaluateUnbounded(value, options))
  } finally {
    // Analyses shared by the rules of this object serve no other; let them and the object go.
    forgetRecentAnswers()
  }
}

/** Problems capped and made safe to show: their texts may quote the input. */
function boundResult(result: Evaluation): Evaluation {
  const problems = result.problems
  if (problems.length > MAX_PROBLEMS_PER_OBJECT) {
    const rest = problems.length - (MAX_PROBLEMS_PER_OBJECT - 1)
    const errors = problems.slice(MAX_PROBLEMS_PER_OBJECT - 1).some((p) => p.severity === 'error')
    problems.length = MAX_PROBLEMS_PER_OBJECT - 1
    problems.push({ object: result.object, severity: errors ? 'error' : 'warning', message: `…and ${groupDigits(rest)} more problems with this object, not listed` })
  }
  for (const p of problems) {
    p.message = safeText(p.message, MAX_MESSAGE_LENGTH)
    if (p.path !== undefined) p.path = safeText(p.path, MAX_PATH_LENGTH)
  }
  return result
}

function evaluateUnbounded(value: unknown, options: EvaluateOptions): Evaluation {
  const object = objectRef(value)
  const result: Evaluation = { recognised: false, object, findings: [], problems: [], skipped: [] }
  if (!isPodBearing(value)) return evaluateOther(value, object, result, options)
  result.recognised = true
  const { pod, problems } = extractPod(value, options.servedApiVersion)
  for (const p of problems) result.problems.push({ ...p, severity: p.severity ?? 'error' })
  const documentRules = documentRulesFor(object, options)
  if (pod === undefined) {
    // The pod rules cannot read it; the schema check can still say what is wrong with it.
    if (documentRules.length > 0) {
      evaluateDocument(value as Record<string, unknown>, object, documentRules, result, options)
      dropRepeatedByProblems(result, documentRules)
    }
    return result
  }

  const namespace = object.namespace ?? options.namespace
  if (namespace !== undefined && object.namespace === undefined) pod.object = { ...object, namespace }
  const set = ruleSet(options.rules)
  // documentRulesFor gives the run's document rules or none.
  const rules = documentRules.length === 0 ? set.pod : set.documentThenPod
  const view: ObjectView = { object: pod.object, kind: object.kind, meta: pod.objectMeta, raw: pod.raw }
  runRules(rules, { object, reported: pod.object, namespace, labels: pod.objectMeta.labels ?? {}, skip: skipList(pod) }, options, result, (rule, ctx) =>
    isDocumentRule(rule) ? rule.checkDocument(view, ctx) : rule.check(pod, ctx),
  )
  if (documentRules.length > 0) dropRepeatedByProblems(result, documentRules)
  return result
}

/**
 * A field the pod reader already refused as an input error (an env value that is a number) is
 * said once, by that error: the schema check's finding at the same path is dropped.
 */
function dropRepeatedByProblems(result: Evaluation, documentRules: readonly PodRule<unknown>[]): void {
  const refused = new Set(result.problems.filter((p) => p.severity === 'error' && p.path !== undefined).map((p) => p.path))
  if (refused.size === 0) return
  const ids = new Set(documentRules.map((r) => r.id))
  result.findings = result.findings.filter((f) => !(ids.has(f.rule) && refused.has(f.path)))
}

/** The document rules that judge this object: none unless the run has schemas covering its kind. */
function documentRulesFor(object: ObjectRef, options: EvaluateOptions): readonly PodRule<unknown>[] {
  if (options.schemas === undefined || !options.schemas.covers(object.apiVersion, object.kind)) return []
  return ruleSet(options.rules).document
}

/** An object judged by the document rules alone. */
function evaluateDocument(raw: Record<string, unknown>, object: ObjectRef, rules: readonly PodRule<unknown>[], result: Evaluation, options: EvaluateOptions): void {
  const meta: ObjectMeta = objectMetaShape.check(raw['metadata'], ['metadata'], []) ?? {}
  const namespace = object.namespace ?? options.namespace
  const view: ObjectView = { object: namespace !== undefined && object.namespace === undefined ? { ...object, namespace } : object, kind: object.kind, meta, raw }
  runRules(rules, { object, reported: view.object, namespace, labels: meta.labels ?? {}, skip: objectSkipList(meta) }, options, result, (rule, ctx) =>
    isDocumentRule(rule) ? rule.checkDocument(view, ctx) : [],
  )
}

/** Objects without a pod template: judged by the object rules of their kind, if any. */
function evaluateOther(value: unknown, object: ObjectRef, result: Evaluation, options: EvaluateOptions): Evaluation {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return result
  const key = kindKey(object.apiVersion, object.kind)
  const rules = [...documentRulesFor(object, options), ...options.rules.filter((r) => isObjectRule(r) && r.kinds.includes(key))]
  if (rules.length === 0) return result
  result.recognised = true
  const raw = value as Record<string, unknown>
  const meta: ObjectMeta = objectMetaShape.check(raw['metadata'], ['metadata'], []) ?? {}
  const namespace = object.namespace ?? options.namespace
  const view: ObjectView = { object: namespace !== undefined && object.namespace === undefined ? { ...object, namespace } : object, kind: object.kind, meta, raw }
  runRules(rules, { object, reported: view.object, namespace, labels: meta.labels ?? {}, skip: objectSkipList(meta) }, options, result, (rule, ctx) =>
    isObjectRule(rule) ? rule.checkObject(view, ctx) : isDocumentRule(rule) ? rule.checkDocument(view, ctx) : [],
  )
  return result
}

interface Target {
  object: ObjectRef
  /** The reference findings carry (with the namespace filled in). */
  reported: ObjectRef
  namespace: string | undefined
  labels: Record<string, string>
  skip: { ids: string[]; where: string } | undefined
}

function runRules(
  rules: readonly PodRule<unknown>[],
  target: Target,
  options: EvaluateOptions,
  result: Evaluation,
  invoke: (rule: PodRule<unknown>, ctx: RuleContext<unknown>) => RuleFinding[],
): void {
  const { object, namespace, labels } = target
  let skip = target.skip
  const set = ruleSet(options.rules)
  const known = set.known
  if (skip !== undefined && !skipHonoured(options.policy.skip, namespace)) {
    // Never silently: the object asked to skip rules, and the policy says no.
    const where = options.policy.skip.enabled
      ? `is honoured only in namespaces ${options.policy.skip.namespaces?.join(', ') ?? ''} by policy ${options.policy.name}`
      : `is turned off by policy ${options.policy.name}`
    result.problems.push({ object, path: skip.where, severity: 'warning', message: `${skip.where} ${where}; every rule ran` })
    result.skipRefused = true
    skip = undefined
  }
  // Distinct ids only, and at most a few named: the annotation can hold half a million of them.
  const skipIds = skip !== undefined ? new Set(skip.ids) : NO_IDS
  let unknown = 0
  for (const id of skipIds) {
    if (id === '*' || known.has(id)) continue
    if (++unknown > MAX_UNKNOWN_SKIPS) continue
    result.problems.push({ object, path: skip?.where, severity: 'warning', message: `${skip?.where ?? 'annotation'} names unknown rule '${safeText(id, 80)}'; it skips nothing` })
  }
  if (unknown > MAX_UNKNOWN_SKIPS) {
    result.problems.push({ object, path: skip?.where, severity: 'warning', message: `${skip?.where ?? 'annotation'} names ${groupDigits(unknown - MAX_UNKNOWN_SKIPS)} more unknown rules; they skip nothing` })
  }
  // A view that is not synced (still listing, or stale) is never read: its rules are skipped, and say so.
  const cluster = options.cluster !== undefined && options.cluster.synced ? options.cluster : undefined
  const exemptions = options.policy.exemptions

  for (const step of planFor(set, rules, cluster, options)) {
    const rule = step.rule
    if (step.ctx === undefined) {
      result.skipped.push({ rule: rule.id, reason: `the cluster state (${options.cluster?.source ?? ''}) is not synced; cluster rules are not judged on stale data`, by: 'cluster' })
      continue
    }
    const action = step.action
    const ex = exemptions.length === 0 ? undefined : exemptions.find((e) => exemptionApplies(e, rule.id, namespace, labels))
    if (ex !== undefined) {
      result.skipped.push({ rule: rule.id, reason: `policy exemption: ${ex.reason}`, by: 'exemption' })
      continue
    }
    if (skip !== undefined && (skipIds.has(rule.id) || skipIds.has('*'))) {
      result.skipped.push({ rule: rule.id, reason: `skipped by ${skip.where}`, by: 'annotation' })
      continue
    }
    const ctx = step.ctx
    let found
    const t0 = options.ruleTimes !== undefined ? performance.now() : 0
    try {
      found = invoke(rule, ctx)
    } catch (err) {
      // A rule bug must never take the review or the run down with it; say so instead.
      result.problems.push({
        object,
        severity: 'warning',
        message: `rule ${rule.id} could not judge this object (${err instanceof Error ? err.message : String(err)}); please report it`,
      })
      continue
    } finally {
      if (options.ruleTimes !== undefined) addRuleTime(options.ruleTimes, rule.id, performance.now() - t0)
    }
    if (found.length === 0) continue
    // The most severe first, so that a cap never hides a deny behind warnings.
    let total = found.length
    for (const f of found) total += f.more ?? 0
    const ordered = total > MAX_FINDINGS_PER_RULE ? found.slice().sort((a, b) => ACTION_ORDER[actionOf(a, action)] - ACTION_ORDER[actionOf(b, action)]) : found
    const listed = total > MAX_FINDINGS_PER_RULE ? Math.min(ordered.length, MAX_FINDINGS_PER_RULE - 1) : ordered.length
    for (let k = 0; k < listed; k++) {
      const f = ordered[k]
      if (f !== undefined) result.findings.push(toFinding(rule.id, actionOf(f, action), target.reported, f))
    }
    if (listed < total) {
      const example = ordered[listed] ?? ordered[listed - 1]
      if (example !== undefined) result.findings.push(summaryFinding(rule.id, actionOf(example, action), target.reported, example, total - listed, ordered[listed] !== undefined))
    }
  }
  if (result.findings.length > 1) result.findings.sort(byActionPathRule)
  if (result.findings.length > MAX_FINDINGS_PER_OBJECT) {
    const rest = result.findings.splice(MAX_FINDINGS_PER_OBJECT - 1)
    const first = rest[0]
    if (first !== undefined) {
      result.findings.push({
        rule: first.rule,
        action: first.action,
        object: target.reported,
        path: first.path,
        message: `…and ${groupDigits(rest.length)} more findings on this object, not listed (at most ${MAX_FINDINGS_PER_OBJECT} are)`,
        fix: 'fix the findings listed and check again to see the rest',
      })
    }
  }
}

/** A finding's own action where the rule may set one (never above an `info` the policy chose), else the rule's. */
function actionOf(f: RuleFinding, action: ReportAction): ReportAction {
  return f.action !== undefined && action !== 'info' ? f.action : action
}

const NO_IDS: ReadonlySet<string> = new Set()

/**
 * What runRules does with each rule, in order: run it with its action and context, or (`ctx`
 * undefined) say that it was skipped because the cluster view is not synced. Rules that are off,
 * or that need data the run does not have, are left out.
 */
interface Step {
  rule: PodRule<unknown>
  action: ReportAction
  ctx: RuleContext<unknown> | undefined
}

/**
 * The steps of a rule list, worked out once per policy and list instead of once per object: a
 * run or a webhook judges thousands of objects under the same policy. The context each rule is
 * given is shared by them all (rules only read it). Kept with the policy (weakly: they go with
 * it), for the engine's own lists (a list made for one object is planned for it alone), and made
 * again when what they depend on changes (the cluster view is read only while synced).
 */
interface Plans {
  /** What ruleSet derived from the run's list (a new one for another list, or when the caller changed its list): the lists planned are its. */
  set: RuleSet
  given: ClusterView | undefined
  cluster: ClusterView | undefined
  related: RelatedObjects | undefined
  schemas: SchemaCheck | undefined
  byList: Map<readonly PodRule<unknown>[], readonly Step[]>
}
const plans = new WeakMap<Policy, Plans>()

function planFor(set: RuleSet, rules: readonly PodRule<unknown>[], cluster: ClusterView | undefined, options: EvaluateOptions): readonly Step[] {
  if (rules !== set.pod && rules !== set.document && rules !== set.documentThenPod) return makePlan(rules, cluster, options)
  let p = plans.get(options.policy)
  if (p === undefined || p.set !== set || p.given !== options.cluster || p.cluster !== cluster || p.related !== options.related || p.schemas !== options.schemas) {
    p = { set, given: options.cluster, cluster, related: options.related, schemas: options.schemas, byList: new Map() }
    plans.set(options.policy, p)
  }
  let steps = p.byList.get(rules)
  if (steps === undefined) {
    steps = makePlan(rules, cluster, options)
    p.byList.set(rules, steps)
  }
  return steps
}

function makePlan(rules: readonly PodRule<unknown>[], cluster: ClusterView | undefined, options: EvaluateOptions): Step[] {
  const steps: Step[] = []
  for (const rule of rules) {
    const setting = options.policy.rules.get(rule.id)
    const action = setting?.action ?? rule.defaultAction
    if (action === 'off') continue
    if (!runnable(rule, options)) {
      if (options.cluster !== undefined && cluster === undefined && rule.scope.includes('cluster')) steps.push({ rule, action, ctx: undefined })
      continue
    }
    const ctx: RuleContext<unknown> = { params: setting?.params ?? {} }
    if (cluster !== undefined) ctx.cluster = cluster
    if (options.related !== undefined) ctx.related = options.related
    if (options.schemas !== undefined) ctx.schemas = options.schemas
    steps.push({ rule, action, ctx: Object.freeze(ctx) })
  }
  return steps
}

function addRuleTime(times: Map<string, RuleTime>, id: string, ms: number): void {
  const t = times.get(id)
  if (t === undefined) times.set(id, { ms, runs: 1 })
  else {
    t.ms += ms
    t.runs++
  }
}

function byActionPathRule(a: Finding, b: Finding): number {
  return ACTION_ORDER[a.action] - ACTION_ORDER[b.action] || byPath(a.path, b.path) || byCodeUnits(a.rule, b.rule)
}

/** A finding as reported: texts escaped and capped here, once, for every face and format. */
function toFinding(rule: string, action: ReportAction, object: ObjectRef, f: RuleFinding): Finding {
  const finding: Finding = {
    rule,
    action,
    object,
    path: safeText(f.path, MAX_PATH_LENGTH),
    message: safeText(f.message, MAX_MESSAGE_LENGTH),
    fix: safeText(f.fix, MAX_MESSAGE_LENGTH),
  }
  if (f.container !== undefined) finding.container = safeText(f.container, MAX_PATH_LENGTH)
  return finding
}

/** The findings of one rule beyond the cap, counted in one. */
function summaryFinding(rule: string, action: ReportAction, object: ObjectRef, example: RuleFinding, rest: number, unlisted: boolean): Finding {
  const finding = toFinding(rule, action, object, example)
  finding.message = `…and ${groupDigits(rest)} more ${rule} findings, not listed (at most ${MAX_FINDINGS_PER_RULE} per rule)${unlisted ? `; the next: ${finding.message}` : ''}`
  finding.message = safeText(finding.message, MAX_MESSAGE_LENGTH)
  return finding
}

/** Static rules always run; batch and cluster rules only when their data is there. */
function runnable(rule: PodRule<unknown>, options: EvaluateOptions): boolean {
  // The schema check needs the schemas: at admission the API server has already validated.
  if (isDocumentRule(rule)) return options.schemas !== undefined
  if (rule.scope.includes('static')) return true
  if (rule.scope.includes('batch') && options.related !== undefined) return true
  if (rule.scope.includes('cluster') && options.cluster !== undefined && options.cluster.synced) return true
  return false
}
