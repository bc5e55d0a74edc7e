import type { CheckReport } from '../report.js'
import { jsonForTerminal } from '../../text/sanitize.js'

/** Exactly one JSON object: findings, errors, warnings, summary. */
export function formatJson(report: CheckReport): string {
  const findings = report.objects.flatMap((o) =>
    o.findings.map((f) => ({
      rule: f.rule,
      action: f.action,
      object: { apiVersion: f.object.apiVersion, kind: f.object.kind, namespace: f.object.namespace ?? null, name: f.object.name },
      container: f.container ?? null,
      path: f.path,
      message: f.message,
      fix: f.fix,
      source: { file: (f.source ?? o.source).file, line: (f.source ?? o.source).line ?? null },
    })),
  )
  return `${jsonForTerminal(JSON.stringify({ findings, errors: report.errors, warnings: report.warnings, summary: report.summary }, null, 2))}\n`
}
