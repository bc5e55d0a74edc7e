/**
 * The heart of `pod-preflight audit` and of the webhook's background scan, without I/O: judge
 * every workload that exists with the same engine, policy and cluster view as `check` and
 * `serve`, and put next to each workload what its pods are failing with right now, joined
 * with the rule that predicted it ("3 pods oom-killed; jvm-heap-exceeds-memory-limit would have
 * denied this").
 */
import { evaluateObject } from '../engine/evaluate.js'
import type { PodRule } from '../engine/rule.js'
import type { ClusterView } from '../cluster/view.js'
import type { Finding, ObjectRef, ReportAction } from '../engine/types.js'
import type { Policy } from '../policy/policy.js'
import { analyze, isUnhealthy } from '../analyzer/analyze.js'
import { failureTrigger } from '../analyzer/companion-logic.js'
import { readPod } from '../analyzer/pod.js'
import type { CauseId } from '../analyzer/causes.js'
import type { Diagnosis } from '../analyzer/types.js'
import { groupWorkloads, type Workload } from './workloads.js'
import { byCodeUnits } from '../text/order.js'

export const AUDIT_API_VERSION = 'pod-preflight.dev/v1'
export const AUDIT_KIND = 'AuditReport'

/** Failing pods described one by one per workload; the rest are counted. */
export const MAX_PODS_DESCRIBED = 10
/** Events read per pod at most (the most recent ones matter). */
const MAX_EVENTS_PER_POD = 50

export interface FailingPod {
  name: string
  /** What `kubectl get pod` shows: the phase, or Terminating. */
  status: string
  diagnoses: Diagnosis[]
}

/** One cause of failure across the pods of a workload. */
export interface FailureSummary {
  cause: CauseId
  /** How many of the workload's pods fail with it. */
  pods: number
  /** The summary of the first pod's diagnosis. */
  summary: string
  /** The rule that would have prevented it, per the analyzer. */
  preventedBy?: string
  /** That rule fired on the workload now: the failure was predicted, with this action. */
  predictedBy?: { rule: string; action: ReportAction }
  /** One line: "3 pods oom-killed; jvm-heap-exceeds-memory-limit would have denied this". */
  text: string
}

export interface AuditedWorkload {
  object: ObjectRef
  /** metadata.uid, when the object has one (live objects do). */
  uid?: string
  /** For a Pod that stands for the pods of an owner the audit does not list. */
  owner?: { kind: string; name: string }
  findings: Finding[]
  pods: { total: number; failing: number }
  failures: FailureSummary[]
  /** The first MAX_PODS_DESCRIBED failing pods with their diagnoses. */
  failingPods: FailingPod[]
  /** Notes about the object (a malformed field, a rule that could not judge it). */
  notes: string[]
  /** Rules an exemption or the skip annotation kept from judging it. */
  skipped: string[]
}

export interface ActionCounts {
  deny: number
  warn: number
  info: number
}

export interface AuditSummary {
  workloads: number
  namespaces: number
  /** Findings by action. */
  findings: ActionCounts
  /** Workloads with at least one finding of the action (a workload counts once, at its worst). */
  workloadsBy: ActionCounts & { clean: number }
  pods: number
  failingPods: number
  failingWorkloads: number
  /** Failures that a rule firing on the same workload predicted. */
  predictedFailures: number
  byRule: Record<string, ActionCounts>
  byNamespace: Record<string, ActionCounts & { workloads: number; failingPods: number }>
}

export interface AuditReport {
  apiVersion: typeof AUDIT_API_VERSION
  kind: typeof AUDIT_KIND
  generatedAt: string
  /** Where the objects came from: `live cluster (CONTEXT)`, or the state files. */
  source: string
  /** The namespaces audited; undefined for all. */
  namespaces?: string[]
  policy: string
  summary: AuditSummary
  workloads: AuditedWorkload[]
  /** Problems reading the input or the cluster; the audit went on without the part concerned. */
  errors: string[]
  /** Things that limit the verdicts (cluster rules skipped, a kind not listable...). */
  notes: string[]
}

export interface AuditOptions {
  policy: Policy
  rules: readonly PodRule<unknown>[]
  cluster?: ClusterView
  /** Only these namespaces (undefined: all). */
  namespaces?: readonly string[]
  /** Events (core/v1 or events.k8s.io/v1) of the audited namespaces, for the analyzer. */
  events?: readonly unknown[]
  now?: Date
  source: string
  /** Called every `progressEvery` workloads judged, for a progress line. */
  onProgress?: (done: number, total: number) => void
  progressEvery?: number
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function counts(): ActionCounts {
  return { deny: 0, warn: 0, info: 0 }
}

const ACTION_VERB: Record<ReportAction, string> = { deny: 'denied', warn: 'warned about', info: 'reported' }

/** Events indexed by the pod they are about (uid, else namespace/name); linear in the events. */
function indexEvents(events: readonly unknown[]): Map<string, unknown[]> {
  const index = new Map<string, unknown[]>()
  for (const e of events) {
    if (!isRecord(e)) continue
    const about = isRecord(e['involvedObject']) ? e['involvedObject'] : isRecord(e['regarding']) ? e['regarding'] : undefined
    if (about === undefined || about['kind'] !== 'Pod') continue
    const keys: string[] = []
    if (typeof about['uid'] === 'string' && about['uid'] !== '') keys.push(about['uid'])
    if (typeof about['name'] === 'string') keys.push(`${typeof about['namespace'] === 'string' ? about['namespace'] : ''}/${about['name']}`)
    for (const k of keys) {
      let list = index.get(k)
      if (list === undefined) {
        list = []
        index.set(k, list)
      }
      if (list.length < MAX_EVENTS_PER_POD) list.push(e)
      else list[list.length - 1] = e // keep the latest as the last one
    }
  }
  return index
}

function eventsOf(index: Map<string, unknown[]>, pod: Record<string, unknown>): unknown[] {
  const meta = isRecord(pod['metadata']) ? pod['metadata'] : {}
  const uid = typeof meta['uid'] === 'string' ? meta['uid'] : undefined
  const byUid = uid !== undefined ? index.get(uid) : undefined
  if (byUid !== undefined) return byUid
  const name = typeof meta['name'] === 'string' ? meta['name'] : ''
  const ns = typeof meta['namespace'] === 'string' ? meta['namespace'] : ''
  return index.get(`${ns}/${name}`) ?? []
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

/** The failing pods of a workload, analysed; pods that are fine are not analysed at all. */
function failuresOf(w: Workload, findings: readonly Finding[], events: Map<string, unknown[]>, now: Date): Pick<AuditedWorkload, 'failures' | 'failingPods'> & { failing: number } {
  const failingPods: FailingPod[] = []
  const byCause = new Map<CauseId, { pods: number; first: Diagnosis }>()
  let failing = 0
  for (const raw of w.pods) {
    const pod = { ...raw, kind: 'Pod', apiVersion: 'v1' }
    const read = readPod(pod)
    if (!read.ok || failureTrigger(read.pod) === undefined) continue
    const ownerRef = read.pod.ownerReferences.find((r) => r.controller) ?? read.pod.ownerReferences[0]
    const job = ownerRef?.kind === 'Job' ? w.jobs.get(ownerRef.name) : undefined
    const input: Parameters<typeof analyze>[0] = { pod, events: eventsOf(events, raw), now }
    if (ownerRef !== undefined) input.owner = job !== undefined ? { kind: 'Job', name: ownerRef.name, object: { ...job, kind: 'Job', apiVersion: 'batch/v1' } } : { kind: ownerRef.kind, name: ownerRef.name }
    const result = analyze(input)
    if (!result.ok || !isUnhealthy(result.diagnoses)) continue
    const diagnoses = result.diagnoses.filter((d) => d.cause !== 'completed')
    failing++
    if (failingPods.length < MAX_PODS_DESCRIBED) failingPods.push({ name: result.pod.name, status: result.status, diagnoses })
    const causes = new Set<CauseId>()
    for (const d of diagnoses) {
      if (causes.has(d.cause)) continue
      causes.add(d.cause)
      const entry = byCause.get(d.cause)
      if (entry === undefined) byCause.set(d.cause, { pods: 1, first: d })
      else entry.pods++
    }
  }
  const failures: FailureSummary[] = []
  for (const [cause, { pods, first }] of byCause) {
    const f: FailureSummary = { cause, pods, summary: first.summary, text: '' }
    let tail = ''
    if (first.preventedBy !== undefined) {
      f.preventedBy = first.preventedBy
      const finding = findings.find((x) => x.rule === first.preventedBy)
      if (finding !== undefined) {
        f.predictedBy = { rule: finding.rule, action: finding.action }
        tail = `; ${finding.rule} would have ${ACTION_VERB[finding.action]} this`
      } else {
        tail = `; ${first.preventedBy} would catch this, but does not fire on the current spec`
      }
    }
    f.text = `${plural(pods, 'pod')} ${cause}${tail}`
    failures.push(f)
  }
  failures.sort((a, b) => b.pods - a.pods || byCodeUnits(a.cause, b.cause))
  return { failures, failingPods, failing }
}

/** Judges workloads already listed (raw objects of any kind; non-workloads are ignored). */
export function runAudit(objects: Iterable<unknown>, options: AuditOptions): AuditReport {
  const now = options.now ?? new Date()
  const wanted = options.namespaces !== undefined ? new Set(options.namespaces) : undefined
  const grouped = groupWorkloads(objects)
  const workloads = wanted === undefined ? grouped.workloads : grouped.workloads.filter((w) => wanted.has(w.object.namespace ?? ''))
  const events = indexEvents(options.events ?? [])
  const report: AuditReport = {
    apiVersion: AUDIT_API_VERSION,
    kind: AUDIT_KIND,
    generatedAt: now.toISOString(),
    source: options.source,
    policy: options.policy.name,
    summary: {
      workloads: 0,
      namespaces: 0,
      findings: counts(),
      workloadsBy: { ...counts(), clean: 0 },
      pods: 0,
      failingPods: 0,
      failingWorkloads: 0,
      predictedFailures: 0,
      byRule: {},
      byNamespace: {},
    },
    workloads: [],
    errors: [],
    notes: [],
  }
  if (options.namespaces !== undefined) report.namespaces = [...options.namespaces]
  if (grouped.skipped > 0) report.notes.push(`${plural(grouped.skipped, 'object')} without a name or namespace left out`)
  const skippedCluster = new Set<string>()
  const s = report.summary
  const every = Math.max(1, options.progressEvery ?? 250)
  for (let i = 0; i < workloads.length; i++) {
    const w = workloads[i]
    if (w === undefined) continue
    const evaluation = evaluateObject(w.raw, { policy: options.policy, rules: options.rules, ...(options.cluster !== undefined ? { cluster: options.cluster } : {}) })
    const notes: string[] = evaluation.problems.map((p) => (p.path !== undefined ? `${p.path}: ${p.message}` : p.message))
    for (const sk of evaluation.skipped) if (sk.reason.startsWith('the cluster state')) skippedCluster.add(sk.reason)
    const { failures, failingPods, failing } = failuresOf(w, evaluation.findings, events, now)
    const skipped = evaluation.skipped.filter((sk) => !sk.reason.startsWith('the cluster state')).map((sk) => sk.rule)
    const audited: AuditedWorkload = { object: evaluation.object, findings: evaluation.findings, pods: { total: w.pods.length, failing }, failures, failingPods, notes, skipped }
    const meta = w.raw['metadata']
    const uid = isRecord(meta) ? meta['uid'] : undefined
    if (typeof uid === 'string' && uid !== '') audited.uid = uid
    if (w.owner !== undefined) audited.owner = w.owner
    report.workloads.push(audited)

    const ns = w.object.namespace ?? ''
    let nsCounts = s.byNamespace[ns]
    if (nsCounts === undefined) {
      nsCounts = { ...counts(), workloads: 0, failingPods: 0 }
      s.byNamespace[ns] = nsCounts
    }
    nsCounts.workloads++
    nsCounts.failingPods += failing
    s.workloads++
    s.pods += w.pods.length
    s.failingPods += failing
    if (failing > 0) s.failingWorkloads++
    s.predictedFailures += failures.filter((f) => f.predictedBy !== undefined).length
    let worst: keyof ActionCounts | undefined
    for (const f of evaluation.findings) {
      s.findings[f.action]++
      nsCounts[f.action]++
      const r = (s.byRule[f.rule] ??= counts())
      r[f.action]++
      if (worst === undefined || f.action === 'deny' || (f.action === 'warn' && worst === 'info')) worst = f.action
    }
    if (worst === undefined) s.workloadsBy.clean++
    else s.workloadsBy[worst]++
    if (options.onProgress !== undefined && ((i + 1) % every === 0 || i + 1 === workloads.length)) options.onProgress(i + 1, workloads.length)
  }
  s.namespaces = Object.keys(s.byNamespace).length
  for (const reason of skippedCluster) report.notes.push(`cluster rules not judged: ${reason}`)
  return report
}
