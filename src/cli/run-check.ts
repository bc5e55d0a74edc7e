/**
 * The heart of `pod-preflight check`, without argument parsing or printing: judge every
 * document read, and collect findings, input errors and notes into one report.
 */
import type { InputDocument, InputError } from '../input/documents.js'
import { parsePath, type PathSegment } from '../input/field-path.js'
import { quoteHint } from '../input/scalars.js'
import { evaluateObject, type EvaluateOptions, type RuleTime } from '../engine/evaluate.js'
import type { PodRule, SchemaCheck } from '../engine/rule.js'
import type { Policy } from '../policy/policy.js'
import type { ClusterView } from '../cluster/view.js'
import type { RelatedObjects } from '../engine/related.js'
import { objectRef } from '../engine/workload.js'
import { problemToError, type CheckReport, type ReportError } from './report.js'
import { classifyDocument, SkipNotes, type SkippedInput } from '../input/not-kubernetes.js'

export interface RunCheckOptions {
  policy: Policy
  rules: readonly PodRule<unknown>[]
  namespace: string
  cluster?: ClusterView
  related?: RelatedObjects
  /** Kinds that are read as context (ConfigMaps for batch rules...) rather than judged. */
  contextKinds?: ReadonlySet<string>
  /** Kind schemas for the schema check (schema-invalid); without them it does not run. */
  schemas?: SchemaCheck
  files: number
  /** Inputs already left out before parsing (by file name, unrendered charts...). */
  skipped?: readonly SkippedInput[]
  /** Given, each rule's time is added to it (see EvaluateOptions.ruleTimes): for benchmarks. */
  ruleTimes?: Map<string, RuleTime>
}

function inputErrorToReport(e: InputError): ReportError {
  const r: ReportError = { file: e.file, message: e.message }
  if (e.line !== undefined) r.line = e.line
  if (e.column !== undefined) r.column = e.column
  return r
}

function valueAt(v: unknown, path: readonly PathSegment[]): unknown {
  let cur = v
  for (const seg of path) {
    if (typeof cur !== 'object' || cur === null) return undefined
    cur = (cur as Record<string | number, unknown>)[seg]
  }
  return cur
}

/** Distinct finding paths whose segments one run keeps: findings of many objects share their paths. */
const MAX_KEPT_PATHS = 2048

/** parsePath, remembered for the paths seen in this run (at most MAX_KEPT_PATHS; the engine cuts paths at 300 characters). */
function pathSegments(): (path: string) => readonly PathSegment[] {
  const kept = new Map<string, readonly PathSegment[]>()
  return (path) => {
    let segments = kept.get(path)
    if (segments === undefined) {
      segments = parsePath(path) ?? []
      if (kept.size < MAX_KEPT_PATHS) kept.set(path, segments)
    }
    return segments
  }
}

export function runCheck(documents: readonly InputDocument[], readErrors: readonly InputError[], options: RunCheckOptions): CheckReport {
  const report: CheckReport = {
    objects: [],
    errors: readErrors.map(inputErrorToReport),
    warnings: [],
    skipped: [],
    summary: { files: options.files, documents: documents.length, objects: 0, notJudged: {}, skipped: 0, deny: 0, warn: 0, info: 0, errors: 0 },
  }
  const skipped = new SkipNotes()
  for (const s of options.skipped ?? []) skipped.add(s)
  const evalOptions: EvaluateOptions = { policy: options.policy, rules: options.rules, namespace: options.namespace }
  if (options.cluster !== undefined) evalOptions.cluster = options.cluster
  if (options.related !== undefined) evalOptions.related = options.related
  if (options.schemas !== undefined) evalOptions.schemas = options.schemas
  if (options.ruleTimes !== undefined) evalOptions.ruleTimes = options.ruleTimes

  const segmentsOf = pathSegments()
  for (const doc of documents) {
    const line = doc.source.line !== undefined ? { line: doc.source.line } : {}
    const c = classifyDocument(doc.value)
    if (c.kind === 'skip') {
      skipped.add({ file: doc.source.file, ...line, reason: c.reason })
      continue
    }
    if (c.kind === 'error') {
      report.errors.push({ file: doc.source.file, ...line, message: c.message })
      continue
    }
    const v = c.value
    const evaluation = evaluateObject(v, evalOptions)
    for (const p of evaluation.problems) {
      const segments = p.path !== undefined ? segmentsOf(p.path) : undefined
      const loc = segments !== undefined ? doc.locate(segments) : doc.source
      const e = problemToError(p, loc)
      if (segments !== undefined && / must be a string, got /.test(p.message)) {
        // `value: yes` is true to kubectl: say so, and how to keep it a string.
        const hint = quoteHint(doc.plainScalar?.(segments), valueAt(v, segments))
        if (hint !== undefined) e.message = `${e.message}: ${hint}`
      }
      if (p.severity === 'error') report.errors.push(e)
      else report.warnings.push(e)
    }
    if (!evaluation.recognised) {
      const kind = objectRef(v).kind
      report.summary.notJudged[kind] = (report.summary.notJudged[kind] ?? 0) + 1
      continue
    }
    report.summary.objects++
    for (const f of evaluation.findings) {
      f.source = doc.locate(segmentsOf(f.path))
      // Audit mode: a deny is reported as a warning that says it would deny; it fails no run
      // (unless --fail-on warn asks for that).
      if (f.action === 'deny' && options.policy.mode === 'audit') {
        f.action = 'warn'
        f.message = `would deny (audit): ${f.message}`
        report.summary.wouldDeny = (report.summary.wouldDeny ?? 0) + 1
      }
      report.summary[f.action]++
    }
    report.objects.push({ object: evaluation.object, source: doc.source, findings: evaluation.findings })
  }
  if (options.policy.bindings.length > 0) {
    // Namespace labels are not known to a file run: the policy's own mode and actions applied.
    report.warnings.push({
      file: options.policy.source,
      message: `the policy's ${options.policy.bindings.length === 1 ? 'binding applies' : `${options.policy.bindings.length} bindings apply`} at admission only (namespace labels are not known here); check used the policy's ${options.policy.mode} mode and actions`,
    })
  }
  report.skipped = skipped.list
  report.summary.skipped = skipped.list.length
  report.summary.errors = report.errors.length
  return report
}
