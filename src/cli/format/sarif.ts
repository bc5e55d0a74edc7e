/**
 * SARIF 2.1.0, as GitHub code scanning reads it: one run, rule metadata with help text, one
 * result per finding with a physical location (file and line) and a logical one (object + path).
 */
import type { CheckReport } from '../report.js'
import { jsonForTerminal } from '../../text/sanitize.js'
import type { PodRule } from '../../engine/rule.js'
import type { Action, ReportAction } from '../../engine/types.js'
import { version } from '../../version.js'
import { REPOSITORY_URL, ruleDocUrl } from '../../rules/_doc-url.js'

const LEVEL: Record<ReportAction, 'error' | 'warning' | 'note'> = { deny: 'error', warn: 'warning', info: 'note' }
const DEFAULT_LEVEL: Record<Action, 'error' | 'warning' | 'note' | 'none'> = { deny: 'error', warn: 'warning', info: 'note', off: 'none' }
/** GitHub orders alerts by this number (0.0 to 10.0). */
const SECURITY_SEVERITY: Record<ReportAction, string> = { deny: '7.0', warn: '4.0', info: '1.0' }

function pascal(id: string): string {
  return id.split('-').map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('')
}

/**
 * Where a file is, for code scanning: a URI relative to the checkout. Standard input is no file
 * of the repository, so it gets no URI (a made-up 'stdin' would be shown as a missing file),
 * only a description.
 */
export function artifactLocation(file: string): Record<string, unknown> {
  if (file === '<stdin>') return { description: { text: 'standard input' } }
  return { uri: file.split('/').map(encodeURIComponent).join('/'), uriBaseId: '%SRCROOT%' }
}

export interface SarifRunParts {
  rules: readonly PodRule<unknown>[]
  results: unknown[]
  executionSuccessful: boolean
  notifications: unknown[]
  /** Further properties of the run (automationDetails, originalUriBaseIds). */
  extra?: Record<string, unknown>
}

/** The rule metadata of the run's driver, in the order of `rules` (ruleIndex counts in it). */
function sarifRules(rules: readonly PodRule<unknown>[]): unknown[] {
  return rules.map((r) => ({
    id: r.id,
    name: pascal(r.id),
    shortDescription: { text: r.docs.summary },
    fullDescription: { text: r.docs.description },
    helpUri: ruleDocUrl(r.id),
    help: {
      text: `${r.docs.description}\n\nAt run time: ${r.docs.failure}\n\nFix: ${r.docs.fix}`,
      markdown: `**${r.title}**\n\n${r.docs.description}\n\n**At run time:** ${r.docs.failure}\n\n**Fix:** ${r.docs.fix}`,
    },
    defaultConfiguration: { level: DEFAULT_LEVEL[r.defaultAction], enabled: r.defaultAction !== 'off' },
    properties: {
      tags: ['kubernetes', r.security === true ? 'security' : 'reliability', ...r.scope],
      // GitHub turns a result into a security alert when its rule has a security-severity:
      // only rules about security get one; a pod that will crash is not a vulnerability.
      ...(r.security === true && r.defaultAction !== 'off' ? { 'security-severity': SECURITY_SEVERITY[r.defaultAction] } : {}),
    },
  }))
}

/** The level of a result of this action. */
export function sarifLevel(action: ReportAction): 'error' | 'warning' | 'note' {
  return LEVEL[action]
}

/**
 * One SARIF 2.1.0 log of one run of pod-preflight: the envelope, the driver with its rule
 * metadata, the invocation and the results, as text safe for a terminal. Shared by `check` and
 * `audit`, which differ only in how they locate results.
 */
export function sarifLog(p: SarifRunParts): string {
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'pod-preflight',
            version,
            semanticVersion: version,
            informationUri: REPOSITORY_URL,
            rules: sarifRules(p.rules),
          },
        },
        ...p.extra,
        invocations: [{ executionSuccessful: p.executionSuccessful, toolExecutionNotifications: p.notifications }],
        results: p.results,
      },
    ],
  }
  return `${jsonForTerminal(JSON.stringify(sarif, null, 2))}\n`
}

export function formatSarif(report: CheckReport, rules: readonly PodRule<unknown>[]): string {
  const index = new Map(rules.map((r, i) => [r.id, i]))
  const results = report.objects.flatMap((o) =>
    o.findings.map((f) => {
      const src = f.source ?? o.source
      const region: Record<string, number> = { startLine: src.line ?? 1 }
      if (src.column !== undefined) region['startColumn'] = src.column
      const ns = f.object.namespace !== undefined ? `${f.object.namespace}/` : ''
      return {
        ruleId: f.rule,
        ...(index.has(f.rule) ? { ruleIndex: index.get(f.rule) } : {}),
        level: LEVEL[f.action],
        message: { text: `${f.message}. Fix: ${f.fix}` },
        locations: [
          {
            physicalLocation: { artifactLocation: artifactLocation(src.file), region },
            logicalLocations: [{ fullyQualifiedName: `${f.object.kind}/${ns}${f.object.name}/${f.path}`, kind: 'member' }],
          },
        ],
        partialFingerprints: { podPreflightFinding: `${f.rule}:${f.object.kind}/${ns}${f.object.name}:${f.path}` },
        properties: { action: f.action, container: f.container ?? null, path: f.path },
      }
    }),
  )
  const notifications = report.errors.map((e) => ({
    level: 'error',
    message: { text: e.message },
    locations: [
      {
        physicalLocation: {
          artifactLocation: artifactLocation(e.file),
          region: { startLine: e.line ?? 1, ...(e.column !== undefined ? { startColumn: e.column } : {}) },
        },
      },
    ],
  }))
  // Inputs that are not Kubernetes objects are notes, so that a scan that skipped
  // kustomization.yaml or values.yaml says so instead of looking like a clean pass.
  const skipNotes = report.skipped.map((k) => ({
    level: 'note',
    message: { text: `skipped: ${k.reason}` },
    locations: [
      {
        physicalLocation: {
          artifactLocation: artifactLocation(k.file),
          region: { startLine: k.line ?? 1 },
        },
      },
    ],
  }))
  return sarifLog({
    rules,
    results,
    executionSuccessful: report.errors.length === 0,
    notifications: [...notifications, ...skipNotes],
    extra: { originalUriBaseIds: { '%SRCROOT%': { uri: './' } } },
  })
}

