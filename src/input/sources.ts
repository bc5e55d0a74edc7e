/**
 * What `check` reads from the paths it is given, as deploy repositories hold them: plain
 * manifests, kustomizations (rendered with `kubectl kustomize`), Helm charts (rendered with
 * `helm template`), and the files around them that are not Kubernetes objects (skipped with a
 * note). Directory walks honour --include / --exclude and never enter .git or node_modules.
 * The files themselves are read by documents.ts.
 */
import { stat } from 'node:fs/promises'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { yamlModule } from '../lazy-modules.js'
import type { Stats } from 'node:fs'
import { basename, dirname, join, relative, resolve, sep } from 'node:path'
import type { Readable } from 'node:stream'
import picomatch from 'picomatch'
import { parseDocuments, readInputs, type InputDocument, type InputError, type ReadOptions, type ReadResult, type SourceLocation } from './documents.js'
import { WalkMemory, walkManifestDirectory } from './walk.js'
import { CHART_FILE, KUSTOMIZATION_FILES, SkipNotes, skipReasonForFileName, type SkippedInput } from './not-kubernetes.js'
import { applySourceComments } from './source-comments.js'
import { DEFAULT_RENDER_TIMEOUT_MS, findOnPath, runRenderer } from './render.js'

export const KUSTOMIZE_MODES = ['auto', 'always', 'never'] as const
export type KustomizeMode = (typeof KUSTOMIZE_MODES)[number]

export interface SourceOptions extends ReadOptions {
  /** Globs a walked or named file must match (any of them), when given. */
  include?: readonly string[]
  /** Globs that leave a file or a whole directory out. */
  exclude?: readonly string[]
  /** auto: render kustomizations when kubectl is on PATH; always: render or fail; never: read their files as they are. */
  kustomize?: KustomizeMode
  renderTimeoutMs?: number
}

export interface SourceIO {
  stdin: Readable
  cwd: string
  env: Record<string, string | undefined>
}

export interface SourceResult extends ReadResult {
  skipped: SkippedInput[]
}

/**
 * A matcher for --include / --exclude globs (picomatch; dot files match): a glob with a slash
 * matches the path as shown (relative to the working directory), one without matches the
 * file or directory name, as .gitignore reads them. Undefined when there are no globs.
 */
function globMatcher(globs: readonly string[] | undefined): ((path: string) => boolean) | undefined {
  if (globs === undefined || globs.length === 0) return undefined
  const options = { dot: true, windows: false }
  const byPath = globs.filter((g) => g.includes('/'))
  const byName = globs.filter((g) => !g.includes('/'))
  const path = byPath.length > 0 ? picomatch(byPath, options) : () => false
  const name = byName.length > 0 ? picomatch(byName, options) : () => false
  return (p) => path(p) || name(p.slice(p.lastIndexOf('/') + 1))
}

/** The name the user sees: relative to the working directory when below it, else absolute. */
function displayName(cwd: string, abs: string): string {
  const rel = relative(cwd, abs)
  return rel === '' ? '.' : rel.startsWith('..') ? abs : rel
}

function toPosix(p: string): string {
  return sep === '/' ? p : p.split(sep).join('/')
}

function kustomizationIn(names: readonly string[]): string | undefined {
  return KUSTOMIZATION_FILES.find((k) => names.includes(k))
}

/**
 * Reads `paths` (files, directories, `-`) for `check`. Every problem is an InputError naming
 * its place; everything left out that a person might expect to be checked is a skip note.
 */
export async function readSources(paths: readonly string[], io: SourceIO, options: SourceOptions = {}): Promise<SourceResult> {
  const result: SourceResult = { documents: [], errors: [], skipped: [] }
  const notes = new SkipNotes()
  const add = (r: ReadResult): void => {
    result.documents.push(...r.documents)
    result.errors.push(...r.errors)
  }
  const mode = options.kustomize ?? 'auto'
  const display = (abs: string): string => displayName(io.cwd, abs)
  const included = globMatcher(options.include)
  const excluded = globMatcher(options.exclude)
  const fileWanted = (abs: string): boolean => {
    const name = toPosix(display(abs))
    if (excluded?.(name) === true) return false
    return included === undefined || included(name)
  }
  const readOptions: ReadOptions = {}
  if (options.maxFileBytes !== undefined) readOptions.maxFileBytes = options.maxFileBytes
  if (options.maxAliasCount !== undefined) readOptions.maxAliasCount = options.maxAliasCount
  const limits = { timeoutMs: options.renderTimeoutMs ?? DEFAULT_RENDER_TIMEOUT_MS, maxBytes: options.maxFileBytes ?? 32 * 1024 * 1024 }

  let kubectl: string | undefined | null = null // null: not looked up yet
  const findKubectl = (): string | undefined => {
    if (kubectl === null) kubectl = findOnPath('kubectl', io.env)
    return kubectl
  }
  let helm: string | undefined | null = null
  const findHelm = (): string | undefined => {
    if (helm === null) helm = findOnPath('helm', io.env)
    return helm
  }
  /** Whether a directory holding this kustomization file is rendered as one unit. */
  const rendersKustomization = (): boolean => mode === 'always' || (mode === 'auto' && findKubectl() !== undefined)

  const notRendered = (dir: string): string =>
    mode === 'never'
      ? 'a kustomize configuration, not rendered (--kustomize=never): the files of its directory are read as they are'
      : `a kustomize configuration, not rendered: kubectl is not on PATH, so the files of its directory are read as they are; to check what it deploys, run 'kubectl kustomize ${dir} | pod-preflight check -f -'`

  const renderKustomization = async (dir: string, file: string): Promise<void> => {
    const name = display(join(dir, file))
    const program = findKubectl()
    if (program === undefined) {
      result.errors.push({ file: name, message: "--kustomize=always, but kubectl is not on PATH: install kubectl, or render it yourself ('kubectl kustomize DIR | pod-preflight check -f -')" })
      return
    }
    const r = await runRenderer(program, ['kustomize', dir], `kubectl kustomize ${display(dir)}`, { cwd: io.cwd, env: io.env, ...limits })
    if (!r.ok) {
      result.errors.push({ file: name, message: r.message })
      return
    }
    // kustomize prints no trace of where each object came from: findings name the
    // kustomization, without a line (a line of the rendered stream is no line of that file).
    const parsed = parseDocuments(r.text, name, readOptions)
    const strip = (): SourceLocation => ({ file: name })
    add({
      documents: parsed.documents.map((d): InputDocument => ({ value: d.value, source: strip(), locate: strip })),
      errors: parsed.errors.map((e): InputError => ({ file: name, message: `in the output of kubectl kustomize: ${e.message}` })),
    })
  }

  const renderChart = async (dir: string): Promise<void> => {
    const name = display(dir)
    const program = findHelm()
    if (program === undefined) {
      notes.add({ file: join(name, CHART_FILE), reason: `a Helm chart, not rendered: helm is not on PATH; run 'helm template ${name} | pod-preflight check -f -'` })
      return
    }
    const r = await runRenderer(program, ['template', dir], `helm template ${name}`, { cwd: io.cwd, env: io.env, ...limits })
    if (!r.ok) {
      result.errors.push({ file: join(name, CHART_FILE), message: r.message })
      return
    }
    // helm names each template CHART/templates/…, CHART being the chart's name: shown
    // under the chart's directory instead.
    const underDir = (p: string): string => {
      const slash = p.indexOf('/')
      return toPosix(join(name, slash === -1 ? p : p.slice(slash + 1)))
    }
    add(applySourceComments(r.text, parseDocuments(r.text, `helm template ${name}`, readOptions), underDir))
  }

  const memory = new WalkMemory()
  const patches = new Set<string>()
  const units: Array<() => Promise<void>> = []
  const readDirectory = async (abs: string): Promise<void> => {
    const walked = await walkManifestDirectory(abs, memory, {
      directory(dir, names) {
        if (dir !== abs && excluded?.(toPosix(display(dir))) === true) return 'skip'
        if (names.includes(CHART_FILE)) {
          // A chart is one unit, named by its Chart.yaml: its templates are not YAML.
          if (fileWanted(join(dir, CHART_FILE))) units.push(() => renderChart(dir))
          return 'skip'
        }
        const k = kustomizationIn(names)
        if (k !== undefined && fileWanted(join(dir, k))) {
          if (rendersKustomization()) {
            units.push(() => renderKustomization(dir, k))
            return 'skip'
          }
          notes.add({ file: display(join(dir, k)), reason: notRendered(display(dir)) })
          // Its patches are fragments of objects: read alone, they would look broken.
          for (const f of kustomizePatchFiles(join(dir, k))) patches.add(f)
        }
        return 'walk'
      },
      file(path) {
        if (!fileWanted(path)) return false
        const reason = patches.has(path) ? 'a kustomize patch listed in its kustomization, not a whole object' : skipReasonForFileName(toPosix(display(path)))
        if (reason === undefined) return true
        notes.add({ file: display(path), reason })
        return false
      },
    })
    for (const p of walked.problems) result.errors.push({ file: display(p.path), message: p.message })
    if (walked.files.length > 0) add(await readInputs(walked.files.map((f) => display(f.path)), io, readOptions))
    const pending = units.splice(0)
    for (const u of pending) await u()
  }

  for (const p of paths) {
    if (p === '-') {
      add(await readInputs(['-'], io, readOptions))
      continue
    }
    const abs = resolve(io.cwd, p)
    let st: Stats
    try {
      st = await stat(abs)
    } catch {
      add(await readInputs([p], io, readOptions)) // says what is wrong with it, as for any file
      continue
    }
    if (st.isDirectory()) {
      await readDirectory(abs)
      continue
    }
    if (!fileWanted(abs)) continue
    const name = basename(abs)
    if (KUSTOMIZATION_FILES.includes(name)) {
      // Named explicitly: the kustomization stands for its directory.
      if (!rendersKustomization()) notes.add({ file: p, reason: notRendered(display(dirname(abs))) })
      else if (memory.first(await stat(dirname(abs)))) await renderKustomization(dirname(abs), name)
      continue
    }
    const reason = skipReasonForFileName(toPosix(p)) ?? chartTemplateReason(abs, display)
    if (reason !== undefined) {
      notes.add({ file: p, reason })
      continue
    }
    add(await readInputs([p], io, readOptions))
  }
  result.skipped = notes.list
  return result
}

/**
 * A file under a chart's templates/ is a Go template, not YAML: it is rendered with its chart.
 * Looks at most 32 directories up for the Chart.yaml.
 */
function chartTemplateReason(abs: string, display: (abs: string) => string): string | undefined {
  const parts = abs.split(sep)
  const at = parts.lastIndexOf('templates')
  if (at <= 0) return undefined
  const chartDir = parts.slice(0, at).join(sep)
  if (parts.length - at > 32 || !existsSync(join(chartDir, CHART_FILE))) return undefined
  return `a Helm chart template, not YAML until rendered: run 'helm template ${display(chartDir)} | pod-preflight check -f -'`
}

/** A kustomization larger than this is not looked into for its patch files. */
const MAX_KUSTOMIZATION_BYTES = 1024 * 1024

/**
 * The files a kustomization names as patches (patches[].path, patchesStrategicMerge,
 * patchesJson6902[].path, replacements[].path), as absolute paths. A kustomization that cannot
 * be read names none: kubectl would say why when it renders it. At most 1,000 entries.
 */
export function kustomizePatchFiles(file: string): string[] {
  let k: unknown
  try {
    if (statSync(file).size > MAX_KUSTOMIZATION_BYTES) return []
    k = yamlModule().parse(readFileSync(file, 'utf8'), { maxAliasCount: 100 })
  } catch {
    return []
  }
  if (typeof k !== 'object' || k === null) return []
  const dir = dirname(file)
  const out: string[] = []
  const addPath = (p: unknown): void => {
    // An inline patch is YAML text, not a file name.
    if (typeof p === 'string' && p !== '' && !p.includes('\n') && out.length < 1000) out.push(resolve(dir, p))
  }
  const list = (key: string): unknown[] => {
    const v = (k as Record<string, unknown>)[key]
    return Array.isArray(v) ? v.slice(0, 1000) : []
  }
  for (const p of list('patchesStrategicMerge')) addPath(p)
  for (const key of ['patches', 'patchesJson6902', 'replacements']) {
    for (const entry of list(key)) {
      if (typeof entry === 'object' && entry !== null) addPath((entry as Record<string, unknown>)['path'])
    }
  }
  return out
}
