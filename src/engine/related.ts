/**
 * The other objects known in the same run: the manifests of a CLI run, so that a ConfigMap
 * next to its Deployment counts as existing. Cluster-aware rules read it through this interface.
 */
import { extractPod, isPodBearing } from './workload.js'
import type { PodView } from './types.js'

export interface RelatedObjects {
  /** True when the user declared the set complete (`--complete`): what is absent does not exist. */
  complete: boolean
  /** The objects of a kind in a namespace (namespace undefined: cluster-scoped kinds). */
  list(kind: string, namespace: string | undefined): readonly Record<string, unknown>[]
  get(kind: string, namespace: string | undefined, name: string): Record<string, unknown> | undefined
  /**
   * The pod templates of the pod-bearing objects of a namespace, extracted once. Optional:
   * use `podTemplatesIn()`, which falls back to extracting them from `list()`.
   */
  podTemplates?(namespace: string): readonly PodView[]
  /** True when the set holds at least one object in the namespace (any kind). Optional, like podTemplates. */
  hasNamespace?(namespace: string): boolean
  /** The namespaces that hold pod-bearing objects. Optional, like podTemplates. */
  workloadNamespaces?(): readonly string[]
}

export interface RelatedOptions {
  /** `--complete`: the run holds everything the manifests reference. */
  complete: boolean
  /** The namespace of objects that name none (the CLI's --namespace); default `default`. */
  namespace?: string
}

/** Kinds that live outside namespaces: they are listed and found with namespace undefined. */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'Node',
  'PersistentVolume',
  'StorageClass',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PriorityClass',
  'RuntimeClass',
  'IngressClass',
  'CSIDriver',
  'CSINode',
  'VolumeAttachment',
  'APIService',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'PodSecurityPolicy',
  'CertificateSigningRequest',
  'FlowSchema',
  'PriorityLevelConfiguration',
])

export function isClusterScoped(kind: string): boolean {
  return CLUSTER_SCOPED.has(kind)
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

const NONE: readonly never[] = Object.freeze([])

/**
 * Indexes the objects of a run by kind, namespace and name. Accepts raw objects, or the
 * InputDocuments of the reader (their `value` is taken). Objects without a name are listed but
 * cannot be found by name; later objects with the same kind, namespace and name win, as with
 * `kubectl apply`.
 */
export function relatedFromObjects(objects: readonly unknown[], options: RelatedOptions): RelatedObjects {
  const defaultNs = options.namespace ?? 'default'
  // kind -> namespace ('' for cluster-scoped) -> name -> object
  const byKind = new Map<string, Map<string, Map<string, Record<string, unknown>>>>()
  const lists = new Map<string, Record<string, unknown>[]>()
  const namespaces = new Set<string>()
  const pods = new Map<string, Record<string, unknown>[]>()
  for (const item of objects) {
    const value = isRecord(item) && 'locate' in item && 'value' in item ? item['value'] : item
    if (!isRecord(value)) continue
    const kind = value['kind']
    if (typeof kind !== 'string' || kind === '') continue
    const meta = isRecord(value['metadata']) ? value['metadata'] : {}
    const name = typeof meta['name'] === 'string' ? meta['name'] : undefined
    const ns = CLUSTER_SCOPED.has(kind) ? '' : typeof meta['namespace'] === 'string' && meta['namespace'] !== '' ? meta['namespace'] : defaultNs
    if (ns !== '') namespaces.add(ns)
    const listKey = `${kind}\u0000${ns}`
    let list = lists.get(listKey)
    if (list === undefined) {
      list = []
      lists.set(listKey, list)
    }
    list.push(value)
    if (isPodBearing(value)) {
      let p = pods.get(ns)
      if (p === undefined) {
        p = []
        pods.set(ns, p)
      }
      p.push(value)
    }
    if (name === undefined) continue
    let nsMap = byKind.get(kind)
    if (nsMap === undefined) {
      nsMap = new Map()
      byKind.set(kind, nsMap)
    }
    let names = nsMap.get(ns)
    if (names === undefined) {
      names = new Map()
      nsMap.set(ns, names)
    }
    names.set(name, value)
  }
  const templates = new Map<string, PodView[]>()
  const nsKey = (kind: string, namespace: string | undefined): string => (CLUSTER_SCOPED.has(kind) ? '' : (namespace ?? defaultNs))
  return {
    complete: options.complete,
    list: (kind, namespace) => lists.get(`${kind}\u0000${nsKey(kind, namespace)}`) ?? NONE,
    get: (kind, namespace, name) => byKind.get(kind)?.get(nsKey(kind, namespace))?.get(name),
    podTemplates(namespace) {
      let t = templates.get(namespace)
      if (t === undefined) {
        t = []
        for (const raw of pods.get(namespace) ?? []) {
          const { pod } = extractPod(raw)
          if (pod !== undefined) t.push(pod)
        }
        templates.set(namespace, t)
      }
      return t
    },
    hasNamespace: (namespace) => namespaces.has(namespace),
    workloadNamespaces: () => [...pods.keys()].sort(),
  }
}

const POD_BEARING = ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job', 'CronJob']
const fallbackTemplates = new WeakMap<RelatedObjects, Map<string, PodView[]>>()

/** The pod templates of a namespace in the run, whichever RelatedObjects implementation it is. */
export function podTemplatesIn(related: RelatedObjects, namespace: string): readonly PodView[] {
  if (related.podTemplates !== undefined) return related.podTemplates(namespace)
  let byNs = fallbackTemplates.get(related)
  if (byNs === undefined) {
    byNs = new Map()
    fallbackTemplates.set(related, byNs)
  }
  let t = byNs.get(namespace)
  if (t === undefined) {
    t = []
    for (const kind of POD_BEARING) {
      for (const raw of related.list(kind, namespace)) {
        if (!isPodBearing(raw)) continue
        const { pod } = extractPod(raw)
        if (pod !== undefined) t.push(pod)
      }
    }
    byNs.set(namespace, t)
  }
  return t
}

/** Whether the run holds anything in the namespace, whichever implementation it is. */
export function runHasNamespace(related: RelatedObjects, namespace: string): boolean {
  if (related.hasNamespace !== undefined) return related.hasNamespace(namespace)
  return podTemplatesIn(related, namespace).length > 0 || related.list('Service', namespace).length > 0
}
