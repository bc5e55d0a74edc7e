/**
 * From an AdmissionRequest to the answer: runs the engine on the object (and, on UPDATE, on the
 * old object), then decides. Pure apart from the clock of the budget.
 *
 * The decisions, in order:
 * - Only CREATE and UPDATE of a whole object are judged; subresources (status, scale...),
 *   DELETE, CONNECT and objects already being deleted are allowed as they are.
 * - A kind the engine does not know, or an object it cannot read, is allowed with a warning:
 *   never a 500, never a denial for what we do not understand.
 * - UPDATE: a denying finding the old object already had (same rule, same container, same
 *   field) does not deny; it is reported as a warning. Scaling, relabelling or restarting a
 *   legacy workload is never blocked; a change that brings a new problem is.
 * - An object whose controller (ownerReferences[].controller) is a pod-bearing workload, e.g. a
 *   Pod of a ReplicaSet, a ReplicaSet of a Deployment or a Job of a CronJob, is judged but not
 *   denied: its template was judged when the workload was applied, and a denial here would only
 *   make the controller fail silently (FailedCreate) long after the user has left.
 * - When the time budget runs out, the object is allowed with a warning that says so.
 * - In audit mode (the policy's, or its binding's for the namespace), every finding that would
 *   deny is answered as a warning naming its rule ("would deny"), and counted as such.
 */
import { MAX_MESSAGE_LENGTH, MAX_PATH_LENGTH, evaluateObject, type Evaluation } from '../engine/evaluate.js'
import type { PodRule } from '../engine/rule.js'
import type { Finding, ObjectRef } from '../engine/types.js'
import type { Policy } from '../policy/policy.js'
import type { ClusterView } from '../cluster/view.js'
import type { RelatedObjects } from '../engine/related.js'
import { objectRef as refOfObject } from '../engine/workload.js'
import { controllingWorkload } from './owners.js'
import { BUDGET_EXCEEDED, type Budget } from './budget.js'
import type { ReviewVerdict } from './metrics.js'
import { typedObject, type AdmissionRequest, type AdmissionResponse } from './review.js'
import { boundWarnings, findingWarning, truncate } from './warnings.js'
import { safeText } from '../text/sanitize.js'
import { cacheKey, generatedTokenVolume, sharable, type EvaluationCache } from './verdict-cache.js'

export interface JudgeOptions {
  policy: Policy
  /** The rules, wrapped by budgetedRules() with `budget`. */
  rules: readonly PodRule<unknown>[]
  budget: Budget
  /** The budget in milliseconds, for the warning text. */
  budgetMs: number
  maxWarnings: number
  cluster?: ClusterView
  related?: RelatedObjects
  /** Evaluations of identical objects under this policy (not used together with `related`). */
  cache?: EvaluationCache
  /**
   * Set when the policy has bindings but the namespace's labels could not be learnt: the
   * policy's own mode and actions applied, and the answer says so.
   */
  labelsUnknown?: string
}

/** Why a denying finding was reported as a warning instead. */
export type Downgrade = 'existing' | 'owned' | 'budget' | 'audit'

export interface ReportedFinding extends Finding {
  /** Set when the policy said deny but the webhook only warned. */
  downgraded?: Downgrade
}

export interface Judgement {
  response: AdmissionResponse
  verdict: ReviewVerdict
  object: ObjectRef
  /** Deny and warn findings as reported (info findings are left out of admission answers). */
  findings: ReportedFinding[]
  /** The controlling owner, when the object has one we judge elsewhere. */
  owner?: string
  /** Rules the object's skip annotation skipped, and those a policy exemption skipped. */
  skipped: { annotation: string[]; exemption: string[] }
  /** The object asked to skip rules and the policy refused it here. */
  skipRefused: boolean
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** The identity of a finding across two versions of an object: rule, container and field, without list positions. */
function findingKey(f: Finding): string {
  return `${f.rule}\u0000${f.container ?? ''}\u0000${f.path.replace(/\[\d+\]/g, '[]')}`
}

/** The object for the first line of a deny message: names escaped and shortened, so no name can forge a line. */
function describe(ref: ObjectRef): string {
  const name = ref.name === '' ? '(unnamed)' : safeText(ref.name, 253)
  return `${safeText(ref.kind, 63) || 'object'} ${ref.namespace !== undefined ? `${safeText(ref.namespace, 63)}/` : ''}${name}`
}

/** One finding of the deny message; its texts are escaped again here (idempotent), whatever built them. */
function line(f: Finding): string {
  return `- [${safeText(f.rule, 63)}] ${safeText(f.path, MAX_PATH_LENGTH)}: ${safeText(f.message, MAX_MESSAGE_LENGTH)}\n  fix: ${safeText(f.fix, MAX_MESSAGE_LENGTH)}`
}

const MAX_LISTED = 100
/** The longest deny message, in characters: kubectl prints all of it, and the API server stores it in events. */
export const MAX_DENY_MESSAGE = 16 * 1024

/** The status message of a denial: every denying finding with its fix, then the warnings, within MAX_DENY_MESSAGE. */
export function denyMessage(ref: ObjectRef, denies: readonly Finding[], warns: readonly Finding[], binding?: string): string {
  const parts = [`pod-preflight: ${describe(ref)} would fail at run time (${denies.length} ${denies.length === 1 ? 'problem' : 'problems'}):`]
  let size = parts[0]?.length ?? 0
  const room = MAX_DENY_MESSAGE - 200
  const list = (fs: readonly Finding[]): void => {
    let shown = 0
    for (const f of fs) {
      if (shown >= MAX_LISTED) break
      const l = line(f)
      if (size + l.length + 1 > room) break
      parts.push(l)
      size += l.length + 1
      shown++
    }
    if (shown < fs.length) {
      const more = `...and ${fs.length - shown} more; run 'pod-preflight check' on the manifest to see them all`
      parts.push(more)
      size += more.length + 1
    }
  }
  list(denies)
  if (warns.length > 0) {
    const head = `Also ${warns.length} ${warns.length === 1 ? 'warning' : 'warnings'}:`
    parts.push(head)
    size += head.length + 1
    list(warns)
  }
  if (binding !== undefined) parts.push(`(policy binding ${truncate(binding, 63)} applies in this namespace)`)
  return parts.join('\n')
}

function allowed(uid: string, verdict: ReviewVerdict, object: ObjectRef, notes: string[] = [], maxWarnings = 0): Judgement {
  const response: AdmissionResponse = { uid, allowed: true }
  const warnings = boundWarnings(notes, maxWarnings)
  if (warnings.length > 0) response.warnings = warnings
  return { response, verdict, object, findings: [], skipped: { annotation: [], exemption: [] }, skipRefused: false }
}

function refOf(request: AdmissionRequest): ObjectRef {
  const ref: ObjectRef = { apiVersion: request.kind.group === '' ? request.kind.version : `${request.kind.group}/${request.kind.version}`, kind: request.kind.kind, name: request.name ?? '' }
  if (request.namespace !== undefined) ref.namespace = request.namespace
  return ref
}

/** The title of a rule of the run, for the short form of its warnings. */
function titleOf(rules: readonly PodRule<unknown>[], id: string): string | undefined {
  return rules.find((r) => r.id === id)?.title
}

/** Why cluster rules were skipped: never synced, or synced once and now stale (with its age). */
export function clusterStateNote(view: ClusterView): string {
  const age = view.stateAgeMs?.()
  if (age === undefined) return 'pod-preflight has not synced the cluster state yet; rules that need it were skipped'
  return `pod-preflight: cluster state is ${Math.round(age / 1000)} s old; cluster rules skipped`
}

function evaluate(object: Record<string, unknown>, request: AdmissionRequest, o: JudgeOptions): Evaluation {
  const typed = typedObject(object, request.kind)
  const useCache = o.cache !== undefined && o.related === undefined
  // One cache serves a policy and its bindings: the binding is part of the key.
  const state = o.cluster === undefined ? '' : `${o.cluster.synced ? 's' : 'u'}${o.cluster.revision}`
  const tokenVolume = useCache ? generatedTokenVolume(typed) : undefined
  const key = useCache ? cacheKey(typed, request.namespace, o.policy.binding === undefined ? state : `${state}\u0000${o.policy.binding}`, tokenVolume) : ''
  if (useCache) {
    const hit = o.cache?.get(key)
    if (hit !== undefined) return hit
  }
  // The API server sent the object in this version, so this cluster serves it.
  const served = request.kind.group === '' ? request.kind.version : `${request.kind.group}/${request.kind.version}`
  const options: Parameters<typeof evaluateObject>[1] = { policy: o.policy, rules: o.rules, servedApiVersion: served }
  if (request.namespace !== undefined) options.namespace = request.namespace
  if (o.cluster !== undefined) options.cluster = o.cluster
  if (o.related !== undefined) options.related = o.related
  const evaluation = evaluateObject(typed, options)
  // An evaluation cut short by the budget is not the object's verdict; never keep it.
  // Nor one that names the Pod's own token volume: it would be shown for Pods with another.
  if (useCache && !o.budget.exceeded && sharable(evaluation, tokenVolume)) o.cache?.set(key, evaluation)
  return evaluation
}

function hasClusterRules(o: JudgeOptions): boolean {
  return o.rules.some((r) => r.scope.includes('cluster') && !r.scope.includes('static') && (o.policy.rules.get(r.id)?.action ?? r.defaultAction) !== 'off')
}

/**
 * Judges one request. Never throws for anything about the object: an engine failure is
 * answered "allowed, not checked".
 * `deadline` is the budget clock's value after which no further rule may start.
 */
export function judge(request: AdmissionRequest, deadline: number, o: JudgeOptions): Judgement {
  const ref = refOf(request)
  const uid = request.uid
  const object = request.object
  if ((request.operation !== 'CREATE' && request.operation !== 'UPDATE') || request.subResource !== undefined || object === undefined) {
    return allowed(uid, 'not_applicable', ref)
  }
  const meta = object['metadata']
  if (isRecord(meta) && meta['deletionTimestamp'] !== undefined && meta['deletionTimestamp'] !== null) {
    // Finalizers being removed from an object on its way out: nothing will be started.
    return allowed(uid, 'not_applicable', ref)
  }

  o.budget.deadline = deadline
  o.budget.exceeded = false
  let current: Evaluation
  let previous: Evaluation | undefined
  try {
    current = evaluate(object, request, o)
    if (request.operation === 'UPDATE' && request.oldObject !== undefined && current.findings.some((f) => f.action === 'deny')) {
      previous = evaluate(request.oldObject, request, o)
    }
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err)
    return allowed(uid, 'unjudged', ref, [`pod-preflight could not check this ${ref.kind || 'object'} (${reason}); allowed unchecked`], o.maxWarnings)
  }
  // From the object itself, not from the evaluation: a cached evaluation may be of a copy with another name.
  const own = refOfObject(typedObject(object, request.kind))
  const objectRef: ObjectRef = own.name !== '' ? own : { ...ref, kind: own.kind || ref.kind }
  if (objectRef.namespace === undefined && request.namespace !== undefined) objectRef.namespace = request.namespace

  if (!current.recognised) {
    return allowed(uid, 'unjudged', objectRef, [`pod-preflight does not check ${safeText(ref.kind || 'this kind', 40)} objects; allowed unchecked`], o.maxWarnings)
  }

  const notes: string[] = []
  const errors = current.problems.filter((p) => p.severity === 'error')
  if (errors.length > 0) {
    const first = errors[0]?.message ?? 'unreadable'
    notes.push(`pod-preflight could not read all of this ${ref.kind}: ${first}${errors.length > 1 ? ` (+${errors.length - 1} more)` : ''}`)
  }
  for (const p of current.problems) {
    if (p.severity === 'warning' && !p.message.includes(BUDGET_EXCEEDED)) notes.push(p.message)
  }
  if (o.labelsUnknown !== undefined) notes.push(o.labelsUnknown)
  if (o.cluster !== undefined && !o.cluster.synced && hasClusterRules(o)) notes.push(clusterStateNote(o.cluster))

  const owner = controllingWorkload(object)
  const existing = new Set(previous?.findings.map(findingKey) ?? [])
  const findings: ReportedFinding[] = []
  let existingCount = 0
  for (const f of current.findings) {
    if (f.action === 'info') continue
    if (f.action !== 'deny') {
      findings.push(f)
      continue
    }
    let downgraded: Downgrade | undefined
    if (o.budget.exceeded) downgraded = 'budget'
    else if (owner !== undefined) downgraded = 'owned'
    else if (existing.has(findingKey(f))) {
      downgraded = 'existing'
      existingCount++
    } else if (o.policy.mode === 'audit') downgraded = 'audit'
    findings.push(downgraded === undefined ? f : { ...f, action: 'warn', downgraded })
  }

  if (o.budget.exceeded) {
    notes.unshift(`pod-preflight ran out of its ${o.budgetMs} ms time budget; this ${ref.kind} was not fully checked and is allowed`)
  }
  if (owner !== undefined && findings.some((f) => f.downgraded === 'owned')) {
    notes.push(`not denied: created by ${safeText(owner, 60)}, which is checked when it is applied`)
  }
  if (existingCount > 0) {
    notes.push(`${existingCount} ${existingCount === 1 ? 'problem was' : 'problems were'} already there before this update; not denied, but fix ${existingCount === 1 ? 'it' : 'them'}`)
  }

  const denies = findings.filter((f) => f.action === 'deny')
  const warns = findings.filter((f) => f.action === 'warn')
  // What audit mode let through comes first among the findings: it is what the rollout is about.
  const wouldDeny = warns.filter((f) => f.downgraded === 'audit')
  const warningLines = [
    ...notes,
    ...wouldDeny.map((f) => findingWarning(f, titleOf(o.rules, f.rule), 'would deny (audit): ')),
    ...warns.filter((f) => f.downgraded !== 'audit').map((f) => findingWarning(f, titleOf(o.rules, f.rule))),
  ]
  const response: AdmissionResponse = { uid, allowed: denies.length === 0 }
  if (denies.length > 0) response.status = { code: 403, reason: 'Forbidden', message: denyMessage(objectRef, denies, warns, o.policy.binding) }
  const warnings = boundWarnings(warningLines, o.maxWarnings)
  if (warnings.length > 0) response.warnings = warnings

  let verdict: ReviewVerdict
  if (denies.length > 0) verdict = 'denied'
  else if (o.budget.exceeded) verdict = 'over_budget'
  else if (wouldDeny.length > 0) verdict = 'would_deny'
  else if (errors.length > 0 && current.findings.length === 0) verdict = 'unjudged'
  else verdict = warnings.length > 0 ? 'warned' : 'allowed'

  const skipped = { annotation: [] as string[], exemption: [] as string[] }
  for (const sk of current.skipped) {
    if (sk.by === 'annotation') skipped.annotation.push(sk.rule)
    else if (sk.by === 'exemption') skipped.exemption.push(sk.rule)
  }
  const judgement: Judgement = { response, verdict, object: objectRef, findings, skipped, skipRefused: current.skipRefused === true }
  if (owner !== undefined) judgement.owner = owner
  return judgement
}
