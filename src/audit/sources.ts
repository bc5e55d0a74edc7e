/**
 * Where an audit reads the cluster from: the live API (a kubeconfig), or files as
 * `kubectl get ... -A -o yaml|json` prints them. Either way the result is the same: the raw
 * workload objects, the events about pods, and the cluster view the cluster-aware rules read
 * (built by src/cluster from the same objects, so `audit`, `check --cluster-state` and `serve`
 * judge against the same state).
 */
import type { KubeConfig } from '@kubernetes/client-node'
import type { Readable } from 'node:stream'
import type { InputDocument, InputError } from '../input/documents.js'
import { clusterViewFromObjects, CAPTURE_API_VERSION, CAPTURE_KIND, readClusterStateDocuments, type FileClusterView } from '../cluster/files.js'
import { httpStatusOf, listPath } from '../cluster/live.js'
import { STATE_KINDS, type StateKind } from '../cluster/view.js'
import { WORKLOAD_KINDS, type WorkloadKind } from './workloads.js'

export interface AuditInput {
  /** Every object read: workloads, and state the view was built from. */
  objects: unknown[]
  events: unknown[]
  view: FileClusterView
  /** What could not be read; the audit goes on without it. */
  errors: string[]
  notes: string[]
  source: string
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

interface ApiResource {
  /** apiVersion candidates, preferred first: the first the server serves is used. */
  versions: readonly string[]
  resource: string
  clusterScoped?: boolean
  metadataOnly?: boolean
  query?: Record<string, string>
}

const CORE = ['v1'] as const

/** Workload kinds as the API serves them (CronJob is batch/v1 from 1.21, batch/v1beta1 before). */
const WORKLOAD_API: Record<WorkloadKind, ApiResource> = {
  Deployment: { versions: ['apps/v1'], resource: 'deployments' },
  StatefulSet: { versions: ['apps/v1'], resource: 'statefulsets' },
  DaemonSet: { versions: ['apps/v1'], resource: 'daemonsets' },
  CronJob: { versions: ['batch/v1', 'batch/v1beta1'], resource: 'cronjobs' },
  Job: { versions: ['batch/v1'], resource: 'jobs' },
  ReplicaSet: { versions: ['apps/v1'], resource: 'replicasets' },
  ReplicationController: { versions: CORE, resource: 'replicationcontrollers' },
  // Every pod, finished ones too: a failed Job pod is a failure to explain.
  Pod: { versions: CORE, resource: 'pods' },
}

/** The state kinds besides Pod (listed once, with the workloads). */
const STATE_API: Record<Exclude<StateKind, 'Pod'>, ApiResource> = {
  Node: { versions: CORE, resource: 'nodes', clusterScoped: true },
  ResourceQuota: { versions: CORE, resource: 'resourcequotas' },
  LimitRange: { versions: CORE, resource: 'limitranges' },
  ConfigMap: { versions: CORE, resource: 'configmaps' },
  // Metadata only: Secret data never crosses the wire.
  Secret: { versions: CORE, resource: 'secrets', metadataOnly: true },
  PersistentVolumeClaim: { versions: CORE, resource: 'persistentvolumeclaims' },
  ServiceAccount: { versions: CORE, resource: 'serviceaccounts' },
  Service: { versions: CORE, resource: 'services' },
}

const EVENTS: ApiResource = { versions: CORE, resource: 'events', query: { fieldSelector: 'involvedObject.kind=Pod' } }

function apiPath(apiVersion: string, resource: string, namespace: string | undefined): string {
  const base = apiVersion === 'v1' ? '/api/v1' : `/apis/${apiVersion}`
  return namespace === undefined ? `${base}/${resource}` : `${base}/namespaces/${encodeURIComponent(namespace)}/${resource}`
}

export interface LiveAuditOptions {
  kubeConfig: KubeConfig
  /** Only these namespaces; all when undefined. */
  namespaces?: readonly string[]
  /** Called before each kind is listed, for a progress line. */
  onList?: (what: string, listedSoFar: number) => void
  signal?: AbortSignal
}

function errorText(err: unknown): string {
  const status = httpStatusOf(err)
  const message = err instanceof Error ? err.message : String(err)
  return status !== undefined ? `HTTP ${status}: ${message}` : message
}

/**
 * Lists workloads, events and cluster state. A kind the credentials may not list (403) or the
 * server does not serve (404) is left out with a note, and the rules that need it stay silent;
 * any other failure (the API server unreachable) is thrown, with the kind named.
 */
export async function readLiveCluster(options: LiveAuditOptions): Promise<AuditInput> {
  const { kubeConfig: kc } = options
  const context = kc.getCurrentContext()
  const out: AuditInput = { objects: [], events: [], view: clusterViewFromObjects([]), errors: [], notes: [], source: `live cluster (context ${context || 'in-cluster'})` }
  const scopes: (string | undefined)[] = options.namespaces === undefined ? [undefined] : [...options.namespaces]
  const captured: StateKind[] = []
  let listed = 0

  const list = async (kind: string, api: ApiResource): Promise<{ items: Record<string, unknown>[]; apiVersion: string } | undefined> => {
    const items: Record<string, unknown>[] = []
    let used: string | undefined
    for (const apiVersion of api.versions) {
      options.onList?.(api.resource, listed)
      try {
        for (const ns of api.clusterScoped === true ? [undefined] : scopes) {
          const raw = await listPath(kc, apiPath(apiVersion, api.resource, ns), {
            ...(options.signal !== undefined ? { signal: options.signal } : {}),
            ...(api.query !== undefined ? { query: api.query } : {}),
            metadataOnly: api.metadataOnly === true,
          })
          // List items carry no kind or apiVersion of their own.
          for (const r of raw) if (isRecord(r)) items.push({ ...r, apiVersion, kind })
        }
        used = apiVersion
        break
      } catch (err) {
        const status = httpStatusOf(err)
        if (status === 404 && apiVersion !== api.versions[api.versions.length - 1]) continue
        if (status === 403 || status === 404) {
          out.notes.push(`cannot list ${api.resource} (${errorText(err)}): left out${kind in STATE_API ? '; the rules that need them stay silent' : ''}`)
          return undefined
        }
        throw new Error(`cannot list ${api.resource} from ${kc.getCurrentCluster()?.server ?? 'the cluster'}: ${errorText(err)}`)
      }
    }
    listed += items.length
    return used === undefined ? undefined : { items, apiVersion: used }
  }

  for (const kind of WORKLOAD_KINDS) {
    const r = await list(kind, WORKLOAD_API[kind])
    if (r === undefined) continue
    for (const item of r.items) {
      // A batch/v1beta1 CronJob (before 1.21) has the batch/v1 shape: judged as the object it is.
      if (kind === 'CronJob' && r.apiVersion !== 'batch/v1') item['apiVersion'] = 'batch/v1'
      out.objects.push(item)
    }
    if (kind === 'Pod') captured.push('Pod')
  }
  for (const kind of Object.keys(STATE_API) as Exclude<StateKind, 'Pod'>[]) {
    const r = await list(kind, STATE_API[kind])
    if (r === undefined) continue
    for (const item of r.items) out.objects.push(item)
    captured.push(kind)
  }
  const events = await list('Event', EVENTS)
  if (events !== undefined) out.events = events.items

  const marker = { apiVersion: CAPTURE_API_VERSION, kind: CAPTURE_KIND, capturedKinds: captured }
  out.view = clusterViewFromObjects([marker, ...out.objects], 'live cluster')
  for (const k of STATE_KINDS) if (!captured.includes(k)) out.notes.push(`${k}s unknown: rules that need them stay silent`)
  return out
}

/** Documents that are not objects are named one by one up to this many, then counted. */
const MAX_NOT_OBJECT_ERRORS = 20

/** Reads `--cluster-state` files (or directories, or `-`): workloads, events and state in any mix. */
export async function readClusterFiles(paths: readonly string[], io: { cwd: string; stdin: Readable }): Promise<AuditInput> {
  const read = await readClusterStateDocuments(paths, io)
  const objects: unknown[] = []
  const events: unknown[] = []
  const source = paths.length === 1 ? (paths[0] ?? 'cluster state') : `${paths.length} cluster state files`
  const errors: InputError[] = [...read.errors]
  let notObjects = 0
  for (const d of read.documents) {
    const doc = isRecord(d) && 'locate' in d && 'value' in d ? (d as unknown as InputDocument) : undefined
    const v = doc !== undefined ? doc.value : d
    if (!isRecord(v) || typeof v['kind'] !== 'string') {
      // A file of something else (a scalar, a list of strings, an object without kind) is named,
      // not read as an empty cluster.
      const what = !isRecord(v) ? (v === null ? 'null' : Array.isArray(v) ? 'a list' : `a ${typeof v}`) : 'an object without kind'
      if (++notObjects <= MAX_NOT_OBJECT_ERRORS) {
        errors.push({
          file: doc?.source.file ?? source,
          ...(doc?.source.line !== undefined ? { line: doc.source.line } : {}),
          message: `not a Kubernetes object (${what}); expected objects as 'kubectl get ... -A -o yaml' prints them`,
        })
      }
      continue
    }
    if (v['kind'] === 'Event') events.push(v)
    else objects.push(v)
  }
  if (notObjects > MAX_NOT_OBJECT_ERRORS) errors.push({ file: source, message: `and ${notObjects - MAX_NOT_OBJECT_ERRORS} more documents that are not Kubernetes objects` })
  const view = clusterViewFromObjects(read.documents, source, errors)
  return { objects, events, view, errors: errors.map(inputErrorText), notes: [], source }
}

function inputErrorText(e: InputError): string {
  return `${e.file}${e.line !== undefined ? `:${e.line}` : ''}${e.column !== undefined ? `:${e.column}` : ''}: ${e.message}`
}
