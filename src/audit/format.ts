/**
 * The audit report for people (text: a summary table per namespace and per rule, then the
 * workloads with findings or failing pods), for programs (json: the report as is), and for
 * code-scanning tools (sarif: one result per finding, located by object and field path).
 */
import type { PodRule } from '../engine/rule.js'
import type { ReportAction } from '../engine/types.js'
import { safeText } from '../text/sanitize.js'
import { sarifLevel, sarifLog } from '../cli/format/sarif.js'
import type { AuditReport, AuditedWorkload } from './audit.js'
import { byCodeUnits } from '../text/order.js'

/** Longest text of one cell or line taken from the cluster (names, messages). */
const MAX_NAME = 80
const MAX_MESSAGE = 400

export interface AuditTextOptions {
  color: boolean
  /** Show info findings in the per-workload list (they are counted either way). */
  showInfo: boolean
  /** Most rows in each summary table (the rest are counted in one line). */
  maxRows?: number
}

const CODES = { red: 31, yellow: 33, blue: 34, dim: 2, bold: 1 } as const
const MARK: Record<ReportAction, string> = { deny: 'DENY', warn: 'WARN', info: 'INFO' }
const COLOR_OF: Record<ReportAction, keyof typeof CODES> = { deny: 'red', warn: 'yellow', info: 'blue' }

function paint(on: boolean): (c: keyof typeof CODES, s: string) => string {
  return (c, s) => (on ? `\u001b[${CODES[c]}m${s}\u001b[0m` : s)
}

export function workloadLabel(w: Pick<AuditedWorkload, 'object' | 'owner'>, max = MAX_NAME): string {
  const o = w.object
  const base = `${o.kind} ${o.namespace !== undefined ? `${o.namespace}/` : ''}${o.name}`
  const owner = w.owner !== undefined ? ` (for the pods of ${w.owner.kind} ${w.owner.name})` : ''
  return safeText(base + owner, max * 2)
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  return [line(header), ...rows.map(line)]
}

export function formatAuditText(report: AuditReport, options: AuditTextOptions): string {
  const c = paint(options.color)
  const maxRows = options.maxRows ?? 50
  const out: string[] = []
  const s = report.summary

  for (const w of report.workloads) {
    const shown = w.findings.filter((f) => options.showInfo || f.action !== 'info')
    if (shown.length === 0 && w.failures.length === 0) continue
    const pods = w.pods.total > 0 ? c('dim', `  ${w.pods.total} pod${w.pods.total === 1 ? '' : 's'}${w.pods.failing > 0 ? `, ${w.pods.failing} failing` : ''}`) : ''
    out.push(`${c('bold', workloadLabel(w))}${pods}`)
    for (const f of w.failures) out.push(`  ${c('red', 'FAILING')} ${safeText(f.text, MAX_MESSAGE)}`)
    for (const f of shown) {
      out.push(`  ${c(COLOR_OF[f.action], MARK[f.action])} ${f.rule}  ${safeText(f.path, MAX_MESSAGE)}`)
      out.push(`       ${safeText(f.message, MAX_MESSAGE)}`)
      out.push(`       ${c('dim', 'fix:')} ${safeText(f.fix, MAX_MESSAGE)}`)
    }
    out.push('')
  }

  const nsRows = Object.entries(s.byNamespace)
    .sort(([a, x], [b, y]) => y.deny - x.deny || y.warn - x.warn || y.failingPods - x.failingPods || byCodeUnits(a, b))
    .map(([ns, n]) => [safeText(ns, MAX_NAME), String(n.workloads), String(n.deny), String(n.warn), String(n.info), String(n.failingPods)])
  if (nsRows.length > 0) {
    out.push(c('bold', 'By namespace'))
    out.push(...table(['NAMESPACE', 'WORKLOADS', 'DENY', 'WARN', 'INFO', 'FAILING PODS'], nsRows.slice(0, maxRows)))
    if (nsRows.length > maxRows) out.push(c('dim', `… and ${nsRows.length - maxRows} more namespaces (-o json has them all)`))
    out.push('')
  }
  const ruleRows = Object.entries(s.byRule)
    .sort(([a, x], [b, y]) => y.deny - x.deny || y.warn - x.warn || y.info - x.info || byCodeUnits(a, b))
    .map(([rule, n]) => [rule, String(n.deny), String(n.warn), String(n.info)])
  if (ruleRows.length > 0) {
    out.push(c('bold', 'By rule'))
    out.push(...table(['RULE', 'DENY', 'WARN', 'INFO'], ruleRows.slice(0, maxRows)))
    if (ruleRows.length > maxRows) out.push(c('dim', `… and ${ruleRows.length - maxRows} more rules`))
    out.push('')
  }
  for (const e of report.errors) out.push(`${c('red', 'ERROR')} ${safeText(e, MAX_MESSAGE)}`)
  for (const n of report.notes) out.push(`${c('yellow', 'NOTE')} ${safeText(n, MAX_MESSAGE)}`)
  if (report.errors.length + report.notes.length > 0) out.push('')
  const w = s.workloadsBy
  out.push(
    [
      `${s.workloads} workload${s.workloads === 1 ? '' : 's'} in ${s.namespaces} namespace${s.namespaces === 1 ? '' : 's'} audited (${safeText(report.source, MAX_NAME)})`,
      `${w.deny} would be denied`,
      `${w.warn} warned`,
      `${w.clean} clean`,
      `${s.findings.deny} deny, ${s.findings.warn} warn, ${s.findings.info} info findings`,
      `${s.failingPods} of ${s.pods} pods failing${s.predictedFailures > 0 ? ` (${s.predictedFailures} failure${s.predictedFailures === 1 ? '' : 's'} predicted by a rule)` : ''}`,
    ].join(', '),
  )
  return `${out.join('\n')}\n`
}

export function formatAuditJson(report: AuditReport): string {
  return `${JSON.stringify(report, null, 2)}\n`
}

/**
 * SARIF 2.1.0. Cluster objects have no file, so each result is located logically
 * (`Deployment/ns/name/spec.template...`) and physically in a pseudo-file per object
 * (`cluster/NAMESPACE/KIND/NAME`), which code-scanning UIs list as the place of the alert.
 */
export function formatAuditSarif(report: AuditReport, rules: readonly PodRule<unknown>[]): string {
  const index = new Map(rules.map((r, i) => [r.id, i]))
  const results = report.workloads.flatMap((w) =>
    w.findings.map((f) => {
      const o = w.object
      const ns = o.namespace ?? ''
      return {
        ruleId: f.rule,
        ...(index.has(f.rule) ? { ruleIndex: index.get(f.rule) } : {}),
        level: sarifLevel(f.action),
        message: { text: `${f.message}. Fix: ${f.fix}` },
        locations: [
          {
            physicalLocation: { artifactLocation: { uri: ['cluster', ns, o.kind, o.name].map(encodeURIComponent).join('/') }, region: { startLine: 1 } },
            logicalLocations: [{ fullyQualifiedName: `${o.kind}/${ns}/${o.name}/${f.path}`, kind: 'member' }],
          },
        ],
        partialFingerprints: { podPreflightFinding: `${f.rule}:${o.kind}/${ns}/${o.name}:${f.path}` },
        properties: { action: f.action, container: f.container ?? null, path: f.path, failingPods: w.pods.failing },
      }
    }),
  )
  return sarifLog({
    rules,
    results,
    executionSuccessful: report.errors.length === 0,
    notifications: [...report.errors.map((e) => ({ level: 'error', message: { text: e } })), ...report.notes.map((n) => ({ level: 'note', message: { text: n } }))],
    extra: { automationDetails: { id: `pod-preflight/audit/${report.generatedAt}` } },
  })
}
