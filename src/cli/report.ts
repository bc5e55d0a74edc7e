/** The result of a `check` run, as every output format sees it. */
import type { Finding, InputProblem, ObjectRef } from '../engine/types.js'
import type { SourceLocation } from '../input/documents.js'
import type { SkippedInput } from '../input/not-kubernetes.js'

export interface ReportError {
  file: string
  line?: number
  column?: number
  object?: ObjectRef
  path?: string
  message: string
}

export interface ReportObject {
  object: ObjectRef
  source: SourceLocation
  findings: Finding[]
}

export interface CheckReport {
  /** Pod-bearing objects that were judged, in input order, each with its findings. */
  objects: ReportObject[]
  errors: ReportError[]
  warnings: ReportError[]
  /** Inputs left out because they are not Kubernetes objects (kustomization.yaml, values.yaml, ...), one note per file and reason. */
  skipped: SkippedInput[]
  summary: {
    files: number
    documents: number
    objects: number
    /** Objects of kinds no rule judges (ConfigMap, Service without batch rules, ...), by kind. */
    notJudged: Record<string, number>
    /** How many skip notes (files, or documents, that are not Kubernetes objects). */
    skipped: number
    deny: number
    warn: number
    info: number
    errors: number
    /** Under a policy in audit mode: deny findings reported as warnings instead (counted in warn too). */
    wouldDeny?: number
  }
}

export function allFindings(report: CheckReport): Finding[] {
  return report.objects.flatMap((o) => o.findings)
}

export function problemToError(p: InputProblem, fallback: SourceLocation): ReportError {
  const src = p.source ?? fallback
  const e: ReportError = { file: src.file, message: p.message }
  if (src.line !== undefined) e.line = src.line
  if (src.column !== undefined) e.column = src.column
  if (p.object !== undefined) e.object = p.object
  if (p.path !== undefined) e.path = p.path
  return e
}

export function objectLabel(o: ObjectRef): string {
  const name = o.namespace !== undefined ? `${o.namespace}/${o.name || '(unnamed)'}` : o.name || '(unnamed)'
  return `${o.kind || '(no kind)'} ${name}`
}
