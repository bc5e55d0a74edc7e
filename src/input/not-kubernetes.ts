/**
 * Files and documents that sit next to manifests in deploy repositories but are not
 * Kubernetes objects: kustomize and Helm configuration, Helm values, CI workflows, and any
 * YAML without apiVersion and kind. They are skipped with a note, never reported as errors;
 * a document that has one of apiVersion and kind but not the other is still an error, since
 * that is a manifest with a mistake in it.
 */

/** An input that was not judged because it is not a Kubernetes object, and why. */
export interface SkippedInput {
  file: string
  line?: number
  reason: string
}

function baseName(path: string): string {
  const parts = path.split(/[\\/]/)
  return parts[parts.length - 1] ?? path
}

/** Kustomize's configuration file names, as `kubectl kustomize` looks for them. */
export const KUSTOMIZATION_FILES: readonly string[] = ['kustomization.yaml', 'kustomization.yml', 'Kustomization']

/** A Helm chart's directory holds this file. */
export const CHART_FILE = 'Chart.yaml'

/**
 * Why a file is not read, judged by its name alone (before it is parsed: a values file or a
 * template may not even be YAML a manifest reader accepts), or undefined for a file to read.
 * Bounded: a few string tests on the path.
 */
export function skipReasonForFileName(path: string): string | undefined {
  const name = baseName(path)
  const posix = path.replace(/\\/g, '/')
  if (KUSTOMIZATION_FILES.includes(name)) return 'a kustomize configuration, not a Kubernetes object'
  if (name === CHART_FILE) return 'Helm chart metadata, not a Kubernetes object'
  if (/^values([._-][^/]*)?\.(ya?ml|json)$/.test(name)) return 'Helm values, not a Kubernetes object'
  if (/(^|\/)\.github\/workflows\/[^/]+\.ya?ml$/.test(posix)) return 'a GitHub Actions workflow, not a Kubernetes object'
  if (name === '.gitlab-ci.yml') return 'a GitLab CI configuration, not a Kubernetes object'
  if (name === '.pre-commit-config.yaml' || name === '.pre-commit-hooks.yaml') return 'a pre-commit configuration, not a Kubernetes object'
  if (name === 'action.yml' || name === 'action.yaml') return 'a GitHub Action definition, not a Kubernetes object'
  if (/(^|\/)\.circleci\/config\.ya?ml$/.test(posix) || name === 'azure-pipelines.yml' || name === 'bitbucket-pipelines.yml' || name === '.travis.yml') {
    return 'a CI configuration, not a Kubernetes object'
  }
  return undefined
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export type DocumentClass =
  | { kind: 'object'; value: Record<string, unknown> }
  | { kind: 'skip'; reason: string }
  | { kind: 'error'; message: string }

/**
 * What one parsed document is: a Kubernetes object to judge, something else to skip with a
 * note, or a manifest missing apiVersion or kind (an error).
 */
export function classifyDocument(v: unknown): DocumentClass {
  if (!isRecord(v)) return { kind: 'skip', reason: `a ${Array.isArray(v) ? 'list' : typeof v === 'string' ? 'string' : 'scalar'}, not a Kubernetes object (no apiVersion and kind)` }
  const hasKind = 'kind' in v
  const hasVersion = 'apiVersion' in v
  if (!hasKind && !hasVersion) return { kind: 'skip', reason: 'no apiVersion and kind: not a Kubernetes object' }
  const kind = v['kind']
  const version = v['apiVersion']
  if (typeof version === 'string' && /^kustomize\.config\.k8s\.io\//.test(version)) return { kind: 'skip', reason: 'a kustomize configuration, not a Kubernetes object' }
  if (typeof kind !== 'string' || kind === '') {
    return { kind: 'error', message: `not a Kubernetes object (${hasKind ? 'kind is not a string' : 'an object without kind'}); every document needs apiVersion and kind` }
  }
  if (typeof version !== 'string' || version === '') {
    return { kind: 'error', message: `not a Kubernetes object (${hasVersion ? 'apiVersion is not a string' : 'an object without apiVersion'}); every document needs apiVersion and kind` }
  }
  return { kind: 'object', value: v }
}

/** Skip notes, one per file (the first reason and line met are kept); linear in the notes. */
export class SkipNotes {
  readonly list: SkippedInput[] = []
  readonly #seen = new Set<string>()

  add(s: SkippedInput): void {
    const key = s.file
    if (this.#seen.has(key)) return
    this.#seen.add(key)
    this.list.push(s)
  }
}
