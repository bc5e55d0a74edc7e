/**
 * GitLab Code Quality JSON (`artifacts: reports: codequality:`): an array of issues, each with
 * description, check_name, fingerprint, severity and location.path / location.lines.begin,
 * the subset of the Code Climate issue format that GitLab reads.
 *
 * GitLab compares the fingerprints of the merge request's pipeline with the target branch's to
 * tell new findings from resolved ones, so a fingerprint is made of what identifies a finding
 * (the rule, the file, the object and the field path) and not of its line: a line moves
 * whenever something above it is edited, which would show the same finding as resolved and new
 * at once. Two findings that share all of that get the occurrence number too, so that every
 * fingerprint in a report is unique (GitLab shows only the first of a repeated one).
 */
import { createHash } from 'node:crypto'
import type { CheckReport } from '../report.js'
import { objectLabel } from '../report.js'
import type { ReportAction } from '../../engine/types.js'
import { jsonForTerminal } from '../../text/sanitize.js'
import { ciPath } from './ci-path.js'

export type CodeQualitySeverity = 'info' | 'minor' | 'major' | 'critical' | 'blocker'

/**
 * deny fails the pipeline and would be refused at admission: critical. blocker is left to
 * nothing, so that a project's own blockers (a build that cannot run) stay above ours.
 */
export const CODEQUALITY_SEVERITY: Readonly<Record<ReportAction, CodeQualitySeverity>> = { deny: 'critical', warn: 'minor', info: 'info' }

export interface CodeQualityIssue {
  type: 'issue'
  description: string
  check_name: string
  fingerprint: string
  severity: CodeQualitySeverity
  categories: string[]
  location: { path: string; lines: { begin: number } }
}

export interface CodeQualityOptions {
  /** Where the run started: absolute paths under it are written relative to it. */
  cwd: string
}

export function codeQualityIssues(report: CheckReport, options: CodeQualityOptions): CodeQualityIssue[] {
  const seen = new Map<string, number>()
  const issues: CodeQualityIssue[] = []
  for (const o of report.objects) {
    for (const f of o.findings) {
      const src = f.source ?? o.source
      const path = ciPath(src.file, options.cwd)
      const ns = f.object.namespace !== undefined ? `${f.object.namespace}/` : ''
      const identity = [f.rule, path, `${f.object.kind}/${ns}${f.object.name}`, f.path].join('\u0000')
      const n = (seen.get(identity) ?? 0) + 1
      seen.set(identity, n)
      issues.push({
        type: 'issue',
        description: `${objectLabel(f.object)}: ${f.message}. Fix: ${f.fix}`,
        check_name: f.rule,
        fingerprint: createHash('md5').update(n === 1 ? identity : `${identity}\u0000${n}`).digest('hex'),
        severity: CODEQUALITY_SEVERITY[f.action],
        categories: ['Bug Risk'],
        location: { path, lines: { begin: src.line ?? 1 } },
      })
    }
  }
  return issues
}

/** The report as GitLab reads it, escaped for a terminal like every JSON we print. */
export function formatCodeQuality(report: CheckReport, options: CodeQualityOptions): string {
  return `${jsonForTerminal(JSON.stringify(codeQualityIssues(report, options), null, 2))}\n`
}
