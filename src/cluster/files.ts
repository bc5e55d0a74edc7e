/**
 * The cluster view from files: Kubernetes objects exactly as `kubectl get ... -A -o yaml` (or
 * `-o json`) prints them, a List or multi-document YAML/JSON, so a CI pipeline can capture the
 * state once and check many manifests against it offline. `pod-preflight snapshot` writes such
 * a file, with a marker document saying which kinds it captured cluster-wide.
 *
 * What counts as known (see ClusterView.knows), without a marker:
 *   - a kind is captured when the files hold at least one object of it;
 *   - a namespace is captured when the files hold at least one object in it (of a kind the view
 *     reads: every namespace has its `default` ServiceAccount and `kube-root-ca.crt` ConfigMap)
 *     or a Namespace object of that name.
 * A reference is judged missing only for a captured kind in a captured namespace, so a file of
 * Nodes alone never makes every ConfigMap look missing.
 */
import type { Readable } from 'node:stream'
import { open, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { readInputs, parseDocuments, type InputDocument, type InputError } from '../input/documents.js'
import type { ShapeError } from '../engine/shape.js'
import { parsePath } from '../input/field-path.js'
import { toStateInfo, namespaceOf, type StateInfo } from './objects.js'
import { ClusterStore } from './store.js'
import { STATE_KINDS, type ClusterView, type StateKind } from './view.js'

/** The marker `pod-preflight snapshot` writes next to the objects. */
export const CAPTURE_API_VERSION = 'pod-preflight.dev/v1'
export const CAPTURE_KIND = 'ClusterStateCapture'

const KINDS = new Set<string>(STATE_KINDS)

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export interface StateSummary {
  /** Objects read, by kind. */
  counts: Partial<Record<StateKind, number>>
  /** Kinds captured cluster-wide by a snapshot marker. */
  capturedKinds: StateKind[]
}

export interface FileClusterView extends ClusterView {
  readonly summary: StateSummary
}

interface Entry {
  item: StateInfo
  namespace: string
}

/** Builds a view from objects already read (raw objects or InputDocuments). */
export function clusterViewFromObjects(
  objects: readonly unknown[],
  source = 'cluster state',
  errors: InputError[] = [],
): FileClusterView {
  const entries = new Map<StateKind, Entry[]>()
  const kindsSeen = new Set<StateKind>()
  const namespaces = new Set<string>()
  const capturedKinds = new Set<StateKind>()
  for (const o of objects) {
    const doc = isRecord(o) && 'locate' in o && 'value' in o ? (o as unknown as InputDocument) : undefined
    const raw = doc !== undefined ? doc.value : o
    if (!isRecord(raw)) continue
    const kind = raw['kind']
    const apiVersion = raw['apiVersion']
    if (kind === CAPTURE_KIND && apiVersion === CAPTURE_API_VERSION) {
      const listed = raw['capturedKinds']
      if (Array.isArray(listed)) for (const k of listed) if (typeof k === 'string' && KINDS.has(k)) capturedKinds.add(k as StateKind)
      continue
    }
    if (kind === 'Namespace') {
      const meta = raw['metadata']
      if (isRecord(meta) && typeof meta['name'] === 'string') namespaces.add(meta['name'])
      continue
    }
    if (typeof kind !== 'string' || !KINDS.has(kind)) continue // other kinds are not state the rules read
    const stateKind = kind as StateKind
    const shapeErrors: ShapeError[] = []
    const item = toStateInfo(stateKind, raw, shapeErrors)
    for (const e of shapeErrors) {
      const where = doc !== undefined ? doc.locate(parsePath(e.path) ?? []) : { file: source }
      const name = isRecord(raw['metadata']) && typeof raw['metadata']['name'] === 'string' ? raw['metadata']['name'] : '?'
      errors.push({ ...where, message: `${kind} ${name}: ${e.path} ${e.message}` })
    }
    kindsSeen.add(stateKind)
    if (item === undefined) continue
    const ns = stateKind === 'Node' ? '' : namespaceOf(raw)
    if (ns !== '') namespaces.add(ns)
    let list = entries.get(stateKind)
    if (list === undefined) {
      list = []
      entries.set(stateKind, list)
    }
    list.push({ item, namespace: ns })
  }
  const knows = (kind: StateKind, namespace: string | undefined): boolean => {
    if (capturedKinds.has(kind)) return true
    if (!kindsSeen.has(kind)) return false
    if (namespace === undefined || kind === 'Node') return true
    return namespaces.has(namespace)
  }
  const store = new ClusterStore({ source, knows })
  const counts: Partial<Record<StateKind, number>> = {}
  for (const [kind, list] of entries) {
    store.replace(kind, list)
    counts[kind] = store.count(kind)
  }
  return Object.assign(store, { summary: { counts, capturedKinds: [...capturedKinds] } })
}

/** Builds a view from the text of one state file (for tests and fixtures). */
export function clusterViewFromText(text: string, file = 'cluster-state'): { view: FileClusterView; errors: InputError[] } {
  const { documents, errors } = parseDocuments(text, file)
  const view = clusterViewFromObjects(documents, file, errors)
  return { view, errors }
}

/**
 * Reads `--cluster-state FILE` (repeatable; a directory reads its *.yaml, *.yml, *.json; `-`
 * reads standard input). Problems are returned, never thrown: a malformed object is left out
 * and named with its file and line.
 */
export async function loadClusterStateFiles(
  paths: readonly string[],
  io: { cwd?: string; stdin?: Readable; maxFileBytes?: number } = {},
): Promise<{ view: FileClusterView; errors: InputError[] }> {
  const { documents, errors } = await readClusterStateDocuments(paths, io)
  const source = paths.length === 1 ? (paths[0] ?? 'cluster state') : `${paths.length} cluster state files`
  const view = clusterViewFromObjects(documents, source, errors)
  if (documents.length > 0 && Object.keys(view.summary.counts).length === 0 && view.summary.capturedKinds.length === 0) {
    errors.push({
      file: source,
      message:
        'no cluster state found: expected Nodes, ResourceQuotas, LimitRanges, ServiceAccounts, ConfigMaps, Secrets, ' +
        'PersistentVolumeClaims, Services or Pods (kubectl get nodes,resourcequotas,limitranges,... -A -o yaml)',
    })
  }
  return { view, errors }
}

/**
 * Reads the objects of state files (Lists expanded; JSON through JSON.parse, anything else
 * through the manifest reader with positions) without building a view: `audit` reads
 * workloads and state from the same files.
 */
export async function readClusterStateDocuments(
  paths: readonly string[],
  io: { cwd?: string; stdin?: Readable; maxFileBytes?: number } = {},
): Promise<{ documents: unknown[]; errors: InputError[] }> {
  const cwd = io.cwd ?? process.cwd()
  const stdin = io.stdin ?? process.stdin
  // A dump of a large cluster is far bigger than any manifest: allow 1 GiB unless told otherwise.
  const maxFileBytes = io.maxFileBytes ?? 1024 * 1024 * 1024
  const documents: unknown[] = []
  const errors: InputError[] = []
  for (const p of paths) {
    // `kubectl get -o json` output is read with JSON.parse: the YAML reader keeps positions for
    // every node, which a 50 MB dump of a large cluster cannot afford. Anything else (YAML, a
    // directory, standard input) goes through the manifest reader, with lines in its messages.
    const json = p === '-' ? undefined : await readJsonFile(resolve(cwd, p), p, maxFileBytes, errors)
    if (json === 'not-json' || p === '-') {
      const r = await readInputs([p], { stdin, cwd }, { maxFileBytes })
      documents.push(...r.documents)
      errors.push(...r.errors)
    } else if (json !== undefined) {
      expandList(json, documents)
    }
  }
  return { documents, errors }
}

/** Reads a JSON file whole; 'not-json' when it does not start like JSON (or is not a regular file). */
async function readJsonFile(abs: string, name: string, maxBytes: number, errors: InputError[]): Promise<unknown> {
  let size: number
  try {
    const st = await stat(abs)
    if (!st.isFile()) return 'not-json'
    size = st.size
  } catch {
    return 'not-json' // the manifest reader reports it
  }
  const fh = await open(abs, 'r')
  try {
    const head = Buffer.alloc(Math.min(size, 64))
    await fh.read(head, 0, head.length, 0)
    const first = head.toString('utf8').replace(/^\uFEFF/, '').trimStart()[0]
    if (first !== '{' && first !== '[') return 'not-json'
    if (size > maxBytes) {
      errors.push({ file: name, message: `file is ${Math.round(size / 1048576)} MiB, above the ${Math.round(maxBytes / 1048576)} MiB limit` })
      return undefined
    }
    const text = (await fh.readFile('utf8')).replace(/^\uFEFF/, '')
    try {
      return JSON.parse(text) as unknown
    } catch (err) {
      errors.push({ file: name, message: `cannot parse JSON: ${err instanceof Error ? err.message : String(err)}` })
      return undefined
    }
  } finally {
    await fh.close()
  }
}

/** `kind: List` and typed lists (NodeList...) hold their objects in items; arrays too. */
function expandList(value: unknown, out: unknown[]): void {
  if (Array.isArray(value)) {
    for (const v of value) expandList(v, out)
    return
  }
  if (isRecord(value)) {
    const kind = value['kind']
    if (typeof kind === 'string' && kind.endsWith('List') && Array.isArray(value['items'])) {
      for (const v of value['items']) expandList(v, out)
      return
    }
    out.push(value)
  }
}
