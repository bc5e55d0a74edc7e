import { yamlModule } from '../../lazy-modules.js'
import type { CheckReport } from '../report.js'
import { escapeControlsKeepNewlines, jsonForTerminal } from '../../text/sanitize.js'
import { ruleDocUrl } from '../../rules/_doc-url.js'
import { ruleById } from '../../rules/index.js'

/** Exactly one JSON object: findings, errors, warnings, summary. */
export function formatJson(report: CheckReport): string {
  return `${jsonForTerminal(JSON.stringify(jsonReport(report), null, 2))}\n`
}

/** The same document as formatJson, as YAML. */
export function formatYaml(report: CheckReport): string {
  return yamlForTerminal(jsonReport(report))
}

/**
 * YAML safe to print: when a value holds a character a terminal acts on, the document is
 * written in YAML's JSON form (every YAML parser reads it), where those become \u escapes.
 */
export function yamlForTerminal(value: unknown): string {
  const text = yamlModule().stringify(value)
  return escapeControlsKeepNewlines(text) === text ? text : `${jsonForTerminal(JSON.stringify(value, null, 2))}\n`
}

function jsonReport(report: CheckReport): object {
  const findings = report.objects.flatMap((o) =>
    o.findings.map((f) => ({
      rule: f.rule,
      action: f.action,
      object: { apiVersion: f.object.apiVersion, kind: f.object.kind, namespace: f.object.namespace ?? null, name: f.object.name },
      container: f.container ?? null,
      path: f.path,
      message: f.message,
      fix: f.fix,
      doc: ruleById(f.rule) !== undefined ? ruleDocUrl(f.rule) : null,
      source: { file: (f.source ?? o.source).file, line: (f.source ?? o.source).line ?? null },
    })),
  )
  return { findings, errors: report.errors, warnings: report.warnings, skipped: report.skipped, summary: report.summary }
}
