/**
 * An audit as wg-policy PolicyReports (wgpolicyk8s.io/v1alpha2, the API Policy Reporter reads):
 * one PolicyReport named `pod-preflight` per namespace, and one ClusterPolicyReport
 * `pod-preflight` with the cluster-wide summary. Pure and deterministic: the same audit gives
 * byte-identical reports, so the scan can tell "nothing changed" by comparing a digest.
 *
 * Results, per workload and rule: `fail` for a finding whose policy action is deny, `warn` for
 * warn, `pass` (severity info, with the message) for info, and `pass` for every rule that judged
 * the workload and found nothing. A rule that fires on several containers gives one result per
 * finding, each with its field path. Properties: path, fix, container, action, and, where the
 * workload's pods fail now with a cause this rule predicts, `failingPods` (the joined line).
 */
import { createHash } from 'node:crypto'
import type { PodRule } from '../engine/rule.js'
import { isObjectRule } from '../engine/rule.js'
import type { ReportAction } from '../engine/types.js'
import type { Policy } from '../policy/policy.js'
import { escapeControls, safeText } from '../text/sanitize.js'
import type { AuditReport, AuditedWorkload } from './audit.js'
import { byCodeUnits } from '../text/order.js'

export const REPORT_GROUP = 'wgpolicyk8s.io'
export const REPORT_VERSION = 'v1alpha2'
export const REPORT_API_VERSION = `${REPORT_GROUP}/${REPORT_VERSION}`
export const REPORT_NAME = 'pod-preflight'
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by'
export const MANAGED_BY = 'pod-preflight'
/** The `policy` of every result, and the `source`. */
export const POLICY_NAME = 'pod-preflight'

/**
 * Results in one PolicyReport at most. An object in etcd is limited to about 1.5 MB; when a
 * namespace has more, pass results are left out first (the summary still counts them), then
 * the least severe findings.
 */
export const MAX_RESULTS_PER_REPORT = 2000
const MAX_MESSAGE = 1000

export type ResultValue = 'pass' | 'fail' | 'warn' | 'error' | 'skip'

export interface ReportResult {
  policy: string
  rule: string
  result: ResultValue
  severity?: 'info' | 'low' | 'medium' | 'high' | 'critical'
  category?: string
  message?: string
  properties?: Record<string, string>
  resources: { apiVersion: string; kind: string; namespace: string; name: string; uid?: string }[]
  scored: boolean
  source: string
}

export interface Summary {
  pass: number
  fail: number
  warn: number
  error: number
  skip: number
}

export interface PolicyReport {
  apiVersion: typeof REPORT_API_VERSION
  kind: 'PolicyReport' | 'ClusterPolicyReport'
  metadata: { name: string; namespace?: string; labels: Record<string, string>; annotations?: Record<string, string> }
  summary: Summary
  results: ReportResult[]
}

const RESULT_OF: Record<ReportAction, ResultValue> = { deny: 'fail', warn: 'warn', info: 'pass' }
const SEVERITY_OF: Record<ReportAction, NonNullable<ReportResult['severity']>> = { deny: 'high', warn: 'medium', info: 'info' }

function emptySummary(): Summary {
  return { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 }
}

/** The rules that judged a workload: enabled pod rules that can run with what the scan has. */
function judgingRules(rules: readonly PodRule<unknown>[], policy: Policy, clusterSynced: boolean): PodRule<unknown>[] {
  return rules.filter((r) => {
    if (isObjectRule(r)) return false
    const action = policy.rules.get(r.id)?.action ?? r.defaultAction
    if (action === 'off') return false
    return r.scope.includes('static') || (clusterSynced && r.scope.includes('cluster'))
  })
}

function resultsOf(w: AuditedWorkload, judging: readonly PodRule<unknown>[]): ReportResult[] {
  const resource = { apiVersion: w.object.apiVersion, kind: w.object.kind, namespace: w.object.namespace ?? '', name: w.object.name, ...(w.uid !== undefined ? { uid: w.uid } : {}) }
  const out: ReportResult[] = []
  const fired = new Set<string>()
  for (const f of w.findings) {
    fired.add(f.rule)
    const properties: Record<string, string> = { path: safeText(f.path, MAX_MESSAGE), fix: safeText(f.fix, MAX_MESSAGE), action: f.action }
    if (f.container !== undefined) properties['container'] = safeText(f.container, 253)
    const failure = w.failures.find((x) => x.predictedBy?.rule === f.rule)
    if (failure !== undefined) properties['failingPods'] = safeText(failure.text, MAX_MESSAGE)
    out.push({
      policy: POLICY_NAME,
      rule: f.rule,
      result: RESULT_OF[f.action],
      severity: SEVERITY_OF[f.action],
      message: safeText(escapeControls(f.message), MAX_MESSAGE),
      properties,
      resources: [resource],
      scored: true,
      source: POLICY_NAME,
    })
  }
  for (const r of judging) {
    if (fired.has(r.id) || w.skipped.includes(r.id)) continue
    out.push({ policy: POLICY_NAME, rule: r.id, result: 'pass', resources: [resource], scored: true, source: POLICY_NAME })
  }
  return out
}

const ORDER: Record<ResultValue, number> = { fail: 0, warn: 1, error: 2, skip: 3, pass: 4 }

export interface ReportSet {
  /** By namespace. */
  namespaced: Map<string, PolicyReport>
  cluster: PolicyReport
}

export function toPolicyReports(audit: AuditReport, options: { rules: readonly PodRule<unknown>[]; policy: Policy; clusterSynced: boolean }): ReportSet {
  const judging = judgingRules(options.rules, options.policy, options.clusterSynced)
  const byNs = new Map<string, ReportResult[]>()
  for (const w of audit.workloads) {
    const ns = w.object.namespace ?? ''
    let list = byNs.get(ns)
    if (list === undefined) {
      list = []
      byNs.set(ns, list)
    }
    for (const r of resultsOf(w, judging)) list.push(r)
  }
  const labels = { [MANAGED_BY_LABEL]: MANAGED_BY }
  const namespaced = new Map<string, PolicyReport>()
  const total = emptySummary()
  for (const [ns, all] of [...byNs].sort(([a], [b]) => byCodeUnits(a, b))) {
    const summary = emptySummary()
    for (const r of all) summary[r.result]++
    for (const k of Object.keys(total) as (keyof Summary)[]) total[k] += summary[k]
    let results = all
    const annotations: Record<string, string> = {}
    if (results.length > MAX_RESULTS_PER_REPORT) {
      results = [...all].sort((a, b) => ORDER[a.result] - ORDER[b.result]).slice(0, MAX_RESULTS_PER_REPORT)
      annotations['pod-preflight/results-left-out'] = String(all.length - results.length)
    }
    namespaced.set(ns, {
      apiVersion: REPORT_API_VERSION,
      kind: 'PolicyReport',
      metadata: { name: REPORT_NAME, namespace: ns, labels, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
      summary,
      results,
    })
  }
  const cluster: PolicyReport = { apiVersion: REPORT_API_VERSION, kind: 'ClusterPolicyReport', metadata: { name: REPORT_NAME, labels }, summary: total, results: [] }
  return { namespaced, cluster }
}

/** An empty report for a namespace that had one and has no workloads left. */
export function emptyReport(namespace: string): PolicyReport {
  return { apiVersion: REPORT_API_VERSION, kind: 'PolicyReport', metadata: { name: REPORT_NAME, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } }, summary: emptySummary(), results: [] }
}

/** A digest of what a report says (summary and results), to skip writes that change nothing. */
export function reportDigest(r: { summary?: unknown; results?: unknown; metadata?: unknown }): string {
  const meta = typeof r.metadata === 'object' && r.metadata !== null ? (r.metadata as { annotations?: unknown }) : {}
  return createHash('sha256')
    .update(canonical([r.summary ?? null, r.results ?? [], meta.annotations ?? null]))
    .digest('hex')
}

/** JSON with object keys sorted: a report read back from the API server has its keys in another order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`
  }
  return JSON.stringify(v) ?? 'null'
}
