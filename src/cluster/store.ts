/**
 * The in-memory state behind both sources: compact records by kind, namespace and name, with
 * the derived indexes the rules need kept up to date as objects come and go (requests per
 * node, the node list). Reads are O(1) or a cached array; writes bump `revision`.
 */
import type { StateInfo } from './objects.js'
import type {
  ClusterView,
  ConfigMapInfo,
  LimitRangeInfo,
  NodeInfo,
  PersistentVolumeClaimInfo,
  PodInfo,
  QuotaInfo,
  ResourceAmounts,
  SecretInfo,
  ServiceAccountInfo,
  ServiceInfo,
  StateKind,
} from './view.js'
import { byCodeUnits } from '../text/order.js'

interface InfoByKind {
  Node: NodeInfo
  ResourceQuota: QuotaInfo
  LimitRange: LimitRangeInfo
  ConfigMap: ConfigMapInfo
  Secret: SecretInfo
  PersistentVolumeClaim: PersistentVolumeClaimInfo
  ServiceAccount: ServiceAccountInfo
  Service: ServiceInfo
  Pod: PodInfo
}

type ByNamespace<T> = Map<string, Map<string, T>>

export interface StoreOptions {
  source: string
  synced?: () => boolean
  /** How old the state in use is, in ms, once it has synced (see ClusterView.stateAgeMs). */
  stateAgeMs?: () => number | undefined
  knows?: (kind: StateKind, namespace: string | undefined) => boolean
}

const EMPTY: readonly never[] = Object.freeze([])

export class ClusterStore implements ClusterView {
  readonly source: string
  private rev = 0
  private readonly data: { [K in StateKind]: ByNamespace<InfoByKind[K]> } = {
    Node: new Map(),
    ResourceQuota: new Map(),
    LimitRange: new Map(),
    ConfigMap: new Map(),
    Secret: new Map(),
    PersistentVolumeClaim: new Map(),
    ServiceAccount: new Map(),
    Service: new Map(),
    Pod: new Map(),
  }
  private nodeList: NodeInfo[] | undefined
  private readonly listCache = new Map<string, readonly unknown[]>()
  private readonly requested = new Map<string, Map<string, number>>()
  private readonly syncedFn: () => boolean
  private readonly ageFn: (() => number | undefined) | undefined
  private readonly knowsFn: (kind: StateKind, namespace: string | undefined) => boolean

  constructor(options: StoreOptions) {
    this.source = options.source
    this.syncedFn = options.synced ?? (() => true)
    this.ageFn = options.stateAgeMs
    this.knowsFn = options.knows ?? (() => true)
  }

  get synced(): boolean {
    return this.syncedFn()
  }

  stateAgeMs(): number | undefined {
    return this.ageFn?.()
  }

  get revision(): number {
    return this.rev
  }

  knows(kind: StateKind, namespace?: string): boolean {
    return this.knowsFn(kind, namespace)
  }

  /** How many objects of a kind the store holds. */
  count(kind: StateKind): number {
    let n = 0
    for (const m of this.data[kind].values()) n += m.size
    return n
  }

  /** The namespaces holding at least one object of a kind. */
  namespacesOf(kind: StateKind): string[] {
    return [...this.data[kind].keys()]
  }

  private changed(kind: StateKind, namespace?: string): void {
    this.rev++
    if (kind === 'Node') this.nodeList = undefined
    else if (kind === 'ResourceQuota' || kind === 'LimitRange' || kind === 'Pod') {
      if (namespace === undefined) {
        for (const key of [...this.listCache.keys()]) if (key.startsWith(`${kind}/`)) this.listCache.delete(key)
      } else {
        this.listCache.delete(`${kind}/${namespace}`)
      }
    }
  }

  private get<K extends StateKind>(kind: K, namespace: string, name: string): InfoByKind[K] | undefined {
    return this.data[kind].get(namespace)?.get(name) as InfoByKind[K] | undefined
  }

  upsert(item: StateInfo, namespace: string): void {
    const ns = item.kind === 'Node' ? '' : namespace
    const byNs = this.data[item.kind] as ByNamespace<unknown>
    let m = byNs.get(ns)
    if (m === undefined) {
      m = new Map()
      byNs.set(ns, m)
    }
    const name = item.info.name
    if (item.kind === 'Pod') {
      const old = m.get(name) as PodInfo | undefined
      if (old !== undefined) this.account(old, -1)
      this.account(item.info, 1)
    }
    m.set(name, item.info)
    this.changed(item.kind, ns)
  }

  remove(kind: StateKind, namespace: string, name: string): void {
    const ns = kind === 'Node' ? '' : namespace
    const byNs = this.data[kind] as ByNamespace<unknown>
    const m = byNs.get(ns)
    if (m === undefined) return
    const old = m.get(name)
    if (old === undefined) return
    if (kind === 'Pod') this.account(old as PodInfo, -1)
    m.delete(name)
    if (m.size === 0) byNs.delete(ns)
    this.changed(kind, ns)
  }

  /** Replaces every object of a kind at once (a relist). */
  replace(kind: StateKind, items: readonly { item: StateInfo; namespace: string }[]): void {
    const byNs = this.data[kind] as ByNamespace<unknown>
    byNs.clear()
    if (kind === 'Pod') this.requested.clear()
    for (const { item, namespace } of items) {
      if (item.kind !== kind) continue
      const ns = kind === 'Node' ? '' : namespace
      let m = byNs.get(ns)
      if (m === undefined) {
        m = new Map()
        byNs.set(ns, m)
      }
      if (item.kind === 'Pod') {
        const old = m.get(item.info.name) as PodInfo | undefined
        if (old !== undefined) this.account(old, -1)
        this.account(item.info, 1)
      }
      m.set(item.info.name, item.info)
    }
    this.changed(kind)
  }

  private account(pod: PodInfo, sign: 1 | -1): void {
    if (pod.nodeName === undefined) return
    let r = this.requested.get(pod.nodeName)
    if (r === undefined) {
      if (sign < 0) return
      r = new Map()
      this.requested.set(pod.nodeName, r)
    }
    for (const [k, v] of pod.requests) r.set(k, (r.get(k) ?? 0) + sign * v)
    if ((r.get('pods') ?? 0) <= 0) this.requested.delete(pod.nodeName)
  }

  nodes(): readonly NodeInfo[] {
    if (this.nodeList === undefined) {
      const m = this.data.Node.get('')
      this.nodeList = m === undefined ? [] : [...m.values()].sort((a, b) => byCodeUnits(a.name, b.name))
    }
    return this.nodeList
  }

  node(name: string): NodeInfo | undefined {
    return this.get('Node', '', name)
  }

  requestedOn(nodeName: string): ResourceAmounts | undefined {
    return this.requested.get(nodeName)
  }

  private listOf<K extends 'ResourceQuota' | 'LimitRange' | 'Pod'>(kind: K, namespace: string): readonly InfoByKind[K][] {
    const key = `${kind}/${namespace}`
    let cached = this.listCache.get(key) as readonly InfoByKind[K][] | undefined
    if (cached === undefined) {
      const m = this.data[kind].get(namespace) as Map<string, InfoByKind[K]> | undefined
      cached = m === undefined ? EMPTY : [...m.values()].sort((a, b) => byCodeUnits(a.name, b.name))
      this.listCache.set(key, cached)
    }
    return cached
  }

  resourceQuotas(namespace: string): readonly QuotaInfo[] {
    return this.listOf('ResourceQuota', namespace)
  }

  limitRanges(namespace: string): readonly LimitRangeInfo[] {
    return this.listOf('LimitRange', namespace)
  }

  pods(namespace: string): readonly PodInfo[] {
    return this.listOf('Pod', namespace)
  }

  configMap(namespace: string, name: string): ConfigMapInfo | undefined {
    return this.get('ConfigMap', namespace, name)
  }

  secret(namespace: string, name: string): SecretInfo | undefined {
    return this.get('Secret', namespace, name)
  }

  persistentVolumeClaim(namespace: string, name: string): PersistentVolumeClaimInfo | undefined {
    return this.get('PersistentVolumeClaim', namespace, name)
  }

  serviceAccount(namespace: string, name: string): ServiceAccountInfo | undefined {
    return this.get('ServiceAccount', namespace, name)
  }

  service(namespace: string, name: string): ServiceInfo | undefined {
    return this.get('Service', namespace, name)
  }
}
