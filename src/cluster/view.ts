/**
 * The read-only cluster view the cluster-aware rules judge against. Two sources implement it:
 * live informers (live.ts), and files saved with `kubectl get ... -o yaml` or
 * `pod-preflight snapshot` (files.ts). Both fill the same store (store.ts) with compact,
 * checked objects: a rule never sees a raw API object, and never does I/O.
 *
 * What is kept is only what a rule reads: node labels, taints, readiness and allocatable;
 * quota hard/used and scopes; LimitRange items; the KEYS of ConfigMaps (never their values);
 * the NAMES of Secrets (metadata only: the view never reads Secret data, so a missing key in a
 * Secret can only be judged from the manifests of a CLI run, never from the cluster);
 * PVC names and phases; ServiceAccounts with their imagePullSecrets; Service selectors and
 * ports; and, for pods, only labels, ports, node, and their resource requests.
 */
import type { Quantity } from '../engine/quantity.js'

/** The kinds the view holds. */
export type StateKind =
  | 'Node'
  | 'ResourceQuota'
  | 'LimitRange'
  | 'ConfigMap'
  | 'Secret'
  | 'PersistentVolumeClaim'
  | 'ServiceAccount'
  | 'Service'
  | 'Pod'

export const STATE_KINDS: readonly StateKind[] = [
  'Node',
  'ResourceQuota',
  'LimitRange',
  'ConfigMap',
  'Secret',
  'PersistentVolumeClaim',
  'ServiceAccount',
  'Service',
  'Pod',
]

/**
 * Resource amounts in the units the scheduler compares: CPU in millicores, every other
 * resource (memory, ephemeral-storage, pods, extended resources such as nvidia.com/gpu) in
 * whole units, rounded up, as resource.Quantity's MilliValue()/Value() do.
 */
export type ResourceAmounts = ReadonlyMap<string, number>

export interface NodeTaint {
  key: string
  value: string
  effect: string
}

export interface NodeInfo {
  name: string
  labels: Readonly<Record<string, string>>
  /** NoSchedule and NoExecute taints only: PreferNoSchedule never keeps a pod off a node. */
  taints: readonly NodeTaint[]
  /** spec.unschedulable: the node is cordoned. */
  unschedulable: boolean
  /** The Ready condition: true, false (False or Unknown), or undefined when the node reports none. */
  ready: boolean | undefined
  /** status.allocatable in scheduler units; undefined when the node reports none (still registering). */
  allocatable: ResourceAmounts | undefined
}

export interface ScopedResourceSelectorRequirement {
  scopeName: string
  operator: string
  values: readonly string[]
}

export interface QuotaInfo {
  namespace: string
  name: string
  /** status.hard (what admission enforces), or spec.hard when the status is not there yet. */
  hard: ReadonlyMap<string, Quantity>
  /** status.used; empty when the quota controller has not counted yet. */
  used: ReadonlyMap<string, Quantity>
  scopes: readonly string[]
  scopeSelector: readonly ScopedResourceSelectorRequirement[]
}

export interface LimitRangeItemInfo {
  /** Container, Pod or PersistentVolumeClaim. */
  type: string
  min: ReadonlyMap<string, Quantity>
  max: ReadonlyMap<string, Quantity>
  /** Default limits, after the API server's defaulting (a missing default takes max). */
  default: ReadonlyMap<string, Quantity>
  /** Default requests, after defaulting (a missing one takes the default limit, else min). */
  defaultRequest: ReadonlyMap<string, Quantity>
  maxLimitRequestRatio: ReadonlyMap<string, Quantity>
}

export interface LimitRangeInfo {
  namespace: string
  name: string
  items: readonly LimitRangeItemInfo[]
}

export interface ConfigMapInfo {
  name: string
  /** The keys of data and binaryData; the values are never kept. */
  keys: ReadonlySet<string>
}

/** A Secret as far as its metadata tells: it exists. Its keys are unknowable without reading its data. */
export interface SecretInfo {
  name: string
}

export interface PersistentVolumeClaimInfo {
  name: string
  /** status.phase: Pending, Bound, Lost; undefined when not reported. */
  phase: string | undefined
}

export interface ServiceAccountInfo {
  name: string
  /** Names of the Secrets in imagePullSecrets. */
  imagePullSecrets: readonly string[]
}

export interface ServicePortInfo {
  name: string | undefined
  port: number
  protocol: string
  targetPort: number | string | undefined
}

export interface ServiceInfo {
  name: string
  type: string
  /** spec.selector; undefined when the Service has none (endpoints managed by hand). */
  selector: Readonly<Record<string, string>> | undefined
  ports: readonly ServicePortInfo[]
}

export interface ContainerPortInfo {
  name: string | undefined
  containerPort: number
  protocol: string
}

export interface PodInfo {
  namespace: string
  name: string
  labels: Readonly<Record<string, string>>
  /** spec.nodeName; undefined while the pod is not scheduled. */
  nodeName: string | undefined
  /** Ports of app containers and sidecar init containers. */
  ports: readonly ContainerPortInfo[]
  /** Every one of those containers declares at least one port (so an undeclared port is really absent). */
  everyContainerDeclaresPorts: boolean
  /** The pod's effective requests as the scheduler counts them (init max vs sum, plus overhead), with `pods: 1`. */
  requests: ResourceAmounts
  /** The pod's effective limits, as quota counts them (limits.*); resources without a limit are absent. */
  limits: ResourceAmounts
  /** What quota scopes look at. */
  priorityClassName: string | undefined
  /** activeDeadlineSeconds is set (quota scope Terminating). */
  terminating: boolean
  /** No container requests or limits cpu or memory (quota scope BestEffort). */
  bestEffort: boolean
}

export interface ClusterView {
  /** False while the live view has not synced, or after it went stale. */
  readonly synced: boolean
  /**
   * How old the state in use is, in ms (0 while every watch is open); undefined until it has
   * synced once, and for sources that do not age (state files).
   */
  stateAgeMs?(): number | undefined
  /** Changes whenever the state changes, so that what a rule derives from it can be cached. */
  readonly revision: number
  /** Where the state comes from, for messages: `live cluster`, or the state files. */
  readonly source: string
  /**
   * Whether the state of a kind is known: for a namespace, or (namespace undefined) for the
   * whole cluster. A reference to a missing object is judged only where this is true, so a
   * rule never reports a ConfigMap as missing just because nobody looked.
   */
  knows(kind: StateKind, namespace?: string): boolean
  nodes(): readonly NodeInfo[]
  node(name: string): NodeInfo | undefined
  /** The summed requests of the non-terminated pods bound to a node, with `pods` their count. */
  requestedOn(nodeName: string): ResourceAmounts | undefined
  resourceQuotas(namespace: string): readonly QuotaInfo[]
  limitRanges(namespace: string): readonly LimitRangeInfo[]
  configMap(namespace: string, name: string): ConfigMapInfo | undefined
  secret(namespace: string, name: string): SecretInfo | undefined
  persistentVolumeClaim(namespace: string, name: string): PersistentVolumeClaimInfo | undefined
  serviceAccount(namespace: string, name: string): ServiceAccountInfo | undefined
  service(namespace: string, name: string): ServiceInfo | undefined
  /** Non-terminated pods of a namespace. */
  pods(namespace: string): readonly PodInfo[]
}
