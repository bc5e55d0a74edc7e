import type { CheckReport } from '../report.js'
import { objectLabel } from '../report.js'
import type { ReportAction } from '../../engine/types.js'
import { safeText } from '../../text/sanitize.js'
import { byCodeUnits } from '../../text/order.js'

/** Every text from the input is escaped (controls, bidi overrides) and shortened before our colours are added. */
const t = (s: string, max = 1_000): string => safeText(s, max)

export interface TextOptions {
  color: boolean
  /** Show info findings too (they are counted either way). */
  showInfo: boolean
}

const CODES = { red: 31, yellow: 33, blue: 34, dim: 2, bold: 1 } as const

function paint(on: boolean): (c: keyof typeof CODES, s: string) => string {
  return (c, s) => (on ? `\u001b[${CODES[c]}m${s}\u001b[0m` : s)
}

/** Skip notes shown in text; a GitOps tree may hold hundreds of values files. */
const MAX_SKIP_LINES = 30

const MARK: Record<ReportAction, string> = { deny: 'DENY', warn: 'WARN', info: 'INFO' }

function where(e: { file: string; line?: number; column?: number }): string {
  return `${t(e.file, 300)}${e.line !== undefined ? `:${e.line}` : ''}${e.column !== undefined ? `:${e.column}` : ''}`
}

/** For people: findings grouped by object, the fix under each, a summary at the end. */
export function formatText(report: CheckReport, options: TextOptions): string {
  const c = paint(options.color)
  const colorOf: Record<ReportAction, keyof typeof CODES> = { deny: 'red', warn: 'yellow', info: 'blue' }
  const out: string[] = []
  for (const o of report.objects) {
    const shown = o.findings.filter((f) => options.showInfo || f.action !== 'info')
    if (shown.length === 0) continue
    const loc = `${t(o.source.file, 300)}${o.source.line !== undefined ? `:${o.source.line}` : ''}`
    out.push(`${c('bold', t(objectLabel(o.object), 400))}  ${c('dim', loc)}`)
    for (const f of shown) {
      const line = f.source?.line !== undefined && f.source.file === o.source.file ? c('dim', ` (line ${f.source.line})`) : ''
      out.push(`  ${c(colorOf[f.action], MARK[f.action])} ${t(f.rule, 100)}  ${t(f.path, 300)}${line}`)
      out.push(`       ${t(f.message)}`)
      out.push(`       ${c('dim', 'fix:')} ${t(f.fix)}`)
    }
    out.push('')
  }
  if (report.errors.length > 0) {
    out.push(c('bold', 'Input errors'))
    for (const e of report.errors) out.push(`  ${c('red', 'ERROR')} ${where(e)}: ${t(e.message)}`)
    out.push('')
  }
  if (report.warnings.length > 0) {
    for (const w of report.warnings) out.push(`  ${c('yellow', 'NOTE')} ${where(w)}: ${t(w.message)}`)
    out.push('')
  }
  if (report.skipped.length > 0) {
    out.push(c('bold', 'Skipped (not Kubernetes objects, or not rendered)'))
    for (const k of report.skipped.slice(0, MAX_SKIP_LINES)) out.push(`  ${c('dim', 'SKIP')} ${where(k)}: ${t(k.reason)}`)
    if (report.skipped.length > MAX_SKIP_LINES) out.push(`  … and ${report.skipped.length - MAX_SKIP_LINES} more (-o json lists them all)`)
    out.push('')
  }
  out.push(...summaryLines(report, options))
  return `${out.join('\n')}\n`
}

/** The closing summary: counts, then the kinds not judged (dimmed). Shared with the CI formats that end with a summary. */
export function summaryLines(report: CheckReport, options: TextOptions): string[] {
  const c = paint(options.color)
  const out: string[] = []
  const s = report.summary
  const notJudged = Object.entries(s.notJudged)
    .sort(([a], [b]) => byCodeUnits(a, b))
    .map(([k, n]) => `${n} ${t(k, 100)}`)
    .join(', ')
  const parts = [
    `${s.objects} object${s.objects === 1 ? '' : 's'} checked in ${s.files} file${s.files === 1 ? '' : 's'}`,
    deniedText(report.objects.filter((o) => o.findings.some((f) => f.action === 'deny')).length, s.deny),
    `${s.warn} warning${s.warn === 1 ? '' : 's'}`,
    `${s.info} info${options.showInfo || s.info === 0 ? '' : ' (shown with --show-info)'}`,
  ]
  if (s.errors > 0) parts.push(`${s.errors} input error${s.errors === 1 ? '' : 's'}`)
  if (s.skipped > 0) parts.push(`${s.skipped} skipped`)
  out.push(parts.join(', '))
  if (notJudged !== '') out.push(c('dim', `not judged (no rule applies to their kind): ${notJudged}`))
  return out
}

/** Objects denied, and the deny findings when they are more: '3 objects denied (5 deny findings)'. */
function deniedText(objects: number, findings: number): string {
  const head = `${objects} object${objects === 1 ? '' : 's'} denied`
  return findings > objects ? `${head} (${findings} deny findings)` : head
}
