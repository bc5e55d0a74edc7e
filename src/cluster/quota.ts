/**
 * ResourceQuota as the admission plugin applies it to pods (the pod evaluator of
 * k8s.io/kubernetes/pkg/quota/v1/evaluator/core): which quotas match a pod (scopes and
 * scopeSelector), what a pod adds to each resource name, and which values a quota requires
 * every container to set.
 */
import { Quantity } from '../engine/quantity.js'
import { labelSelectorShape } from '../engine/k8s.js'
import { selectorMatches, mapSelectorMatches } from '../engine/labels.js'
import { record, str } from '../engine/shape.js'
import type { PodView } from '../engine/types.js'
import type { ClusterView, PodInfo, QuotaInfo, ScopedResourceSelectorRequirement } from './view.js'
import { effectivePodResources, fromUnits, type PodResources, type ResourceList } from './resources.js'

const STANDARD = new Set(['cpu', 'memory', 'ephemeral-storage'])

/** Extended resources (vendor-domain names such as nvidia.com/gpu) are quota'd as requests.<name>. */
export function isExtendedResource(name: string): boolean {
  return name.includes('/') && !name.startsWith('kubernetes.io/') && !name.startsWith('requests.') && !name.startsWith('limits.')
}

/** What one pod adds to quota resource names (podComputeUsageHelper). */
export function podQuotaUsage(requests: ResourceList, limits: ResourceList): Map<string, Quantity> {
  const usage = new Map<string, Quantity>()
  usage.set('pods', Quantity.fromInteger(1))
  usage.set('count/pods', Quantity.fromInteger(1))
  for (const [k, v] of requests) {
    if (STANDARD.has(k)) {
      usage.set(k, v)
      usage.set(`requests.${k}`, v)
    } else if (k.startsWith('hugepages-') || isExtendedResource(k)) {
      usage.set(`requests.${k}`, v)
    }
  }
  for (const [k, v] of limits) {
    if (STANDARD.has(k)) usage.set(`limits.${k}`, v)
  }
  return usage
}

/** The same for a pod already in the cluster, from its compact record. */
export function existingPodQuotaUsage(p: PodInfo): Map<string, Quantity> {
  const requests: ResourceList = new Map()
  for (const [k, v] of p.requests) if (k !== 'pods') requests.set(k, fromUnits(k, v))
  const limits: ResourceList = new Map()
  for (const [k, v] of p.limits) limits.set(k, fromUnits(k, v))
  return podQuotaUsage(requests, limits)
}

export interface ScopeFacts {
  terminating: boolean
  bestEffort: boolean
  priorityClassName: string | undefined
  crossNamespaceAffinity: boolean
}

function scopeMatches(scope: string, operator: string, values: readonly string[], f: ScopeFacts): boolean {
  switch (scope) {
    case 'Terminating':
      return f.terminating
    case 'NotTerminating':
      return !f.terminating
    case 'BestEffort':
      return f.bestEffort
    case 'NotBestEffort':
      return !f.bestEffort
    case 'CrossNamespacePodAffinity':
      return f.crossNamespaceAffinity
    case 'PriorityClass': {
      const pc = f.priorityClassName ?? ''
      switch (operator) {
        case 'In':
          return values.includes(pc)
        case 'NotIn':
          return !values.includes(pc)
        case 'DoesNotExist':
          return pc === ''
        default: // Exists, or the scope named in spec.scopes
          return pc !== ''
      }
    }
    default:
      return false
  }
}

/** A quota applies to a pod when every scope and every scopeSelector requirement matches. */
export function quotaMatches(q: QuotaInfo, f: ScopeFacts): boolean {
  for (const s of q.scopes) if (!scopeMatches(s, 'Exists', [], f)) return false
  for (const r of q.scopeSelector as readonly ScopedResourceSelectorRequirement[]) {
    if (!scopeMatches(r.scopeName, r.operator, r.values, f)) return false
  }
  return true
}

export function describeScopes(q: QuotaInfo): string {
  const parts = [...q.scopes, ...q.scopeSelector.map((r) => `${r.scopeName} ${r.operator}${r.values.length > 0 ? ` ${r.values.join(',')}` : ''}`)]
  return parts.length === 0 ? '' : ` (scopes: ${parts.join('; ')})`
}

export function scopeFacts(pod: PodView, res: PodResources): ScopeFacts {
  let bestEffort = true
  for (const c of res.containers) {
    for (const k of ['cpu', 'memory']) {
      const r = c.requests.get(k)
      const l = c.limits.get(k)
      if ((r !== undefined && r.n > 0n) || (l !== undefined && l.n > 0n)) bestEffort = false
    }
  }
  const terms = [
    ...(pod.spec.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
    ...(pod.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
  ]
  return {
    terminating: pod.spec.activeDeadlineSeconds !== undefined && pod.spec.activeDeadlineSeconds >= 0,
    bestEffort,
    priorityClassName: pod.spec.priorityClassName,
    crossNamespaceAffinity: terms.some((t) => t.namespaces !== undefined || t.namespaceSelector !== undefined),
  }
}

const rcSelectorShape = record(str)

/**
 * The pods of the cluster this object already runs (so that an update is not counted twice):
 * those its selector matches, or for a Pod the pod of that name. CronJobs and Jobs add pods
 * rather than replace them.
 */
export function ownPods(pod: PodView, view: ClusterView): readonly PodInfo[] {
  const ns = pod.object.namespace ?? 'default'
  if (!view.knows('Pod', ns)) return []
  const pods = view.pods(ns)
  if (pod.kind === 'Pod') return pods.filter((p) => p.name === pod.object.name)
  if (pod.kind === 'CronJob' || pod.kind === 'Job') return []
  const spec = (pod.raw['spec'] ?? {}) as Record<string, unknown>
  if (pod.kind === 'ReplicationController') {
    const sel = rcSelectorShape.check(spec['selector'], [], []) ?? pod.podMeta.labels ?? {}
    return pods.filter((p) => mapSelectorMatches(sel, p.labels))
  }
  const sel = labelSelectorShape.check(spec['selector'], [], [])
  if (sel === undefined || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0)) return []
  return pods.filter((p) => selectorMatches(sel, p.labels))
}

export interface QuotaExcess {
  quota: QuotaInfo
  resource: string
  hard: Quantity
  used: Quantity
  /** What the object's pods add: per pod, and times the pod count. */
  perPod: Quantity
  pods: number
  /** Usage of the object's own existing pods, taken off `used` (they are replaced). */
  released: Quantity
  projected: Quantity
}

/** Every (quota, resource) the object's pods would push past `hard`. */
export function quotaExcesses(pod: PodView, view: ClusterView, podCount: number): QuotaExcess[] {
  const ns = pod.object.namespace ?? 'default'
  const quotas = view.resourceQuotas(ns)
  if (quotas.length === 0) return []
  const res = effectivePodResources(pod, view)
  const facts = scopeFacts(pod, res)
  const usage = podQuotaUsage(res.requests, res.limits)
  const own = ownPods(pod, view)
  const out: QuotaExcess[] = []
  for (const q of quotas) {
    if (!quotaMatches(q, facts)) continue
    let released: Map<string, Quantity> | undefined
    for (const [resource, hard] of q.hard) {
      const per = usage.get(resource)
      if (per === undefined || per.n <= 0n) continue
      if (released === undefined) {
        released = new Map()
        for (const p of own) {
          if (!quotaMatches(q, { terminating: p.terminating, bestEffort: p.bestEffort, priorityClassName: p.priorityClassName, crossNamespaceAffinity: false })) continue
          for (const [k, v] of existingPodQuotaUsage(p)) released.set(k, (released.get(k) ?? Quantity.ZERO).add(v))
        }
      }
      const used = q.used.get(resource) ?? Quantity.ZERO
      const rel = released.get(resource) ?? Quantity.ZERO
      const base = used.sub(rel).lt(Quantity.ZERO) ? Quantity.ZERO : used.sub(rel)
      const projected = base.add(per.mul(podCount))
      if (projected.gt(hard)) {
        out.push({ quota: q, resource, hard, used, perPod: per, pods: podCount, released: rel, projected })
      }
    }
  }
  return out
}

/** The resource names that make the quota admission demand an explicit value per container. */
const VALIDATED: Record<string, { field: 'requests' | 'limits'; resource: string }> = {
  cpu: { field: 'requests', resource: 'cpu' },
  'requests.cpu': { field: 'requests', resource: 'cpu' },
  memory: { field: 'requests', resource: 'memory' },
  'requests.memory': { field: 'requests', resource: 'memory' },
  'limits.cpu': { field: 'limits', resource: 'cpu' },
  'limits.memory': { field: 'limits', resource: 'memory' },
}

export interface RequiredValue {
  field: 'requests' | 'limits'
  resource: string
  /** The quota resource name as the API server's error says it: `limits.memory`. */
  name: string
  quotas: QuotaInfo[]
}

/** The values every container must set because a matching quota tracks them. */
export function requiredValues(pod: PodView, view: ClusterView): RequiredValue[] {
  const ns = pod.object.namespace ?? 'default'
  const quotas = view.resourceQuotas(ns)
  if (quotas.length === 0) return []
  const res = effectivePodResources(pod, view)
  const facts = scopeFacts(pod, res)
  const byName = new Map<string, RequiredValue>()
  for (const q of quotas) {
    if (!quotaMatches(q, facts)) continue
    for (const resource of q.hard.keys()) {
      const v = VALIDATED[resource]
      if (v === undefined) continue
      const name = `${v.field}.${v.resource}`
      let entry = byName.get(name)
      if (entry === undefined) {
        entry = { field: v.field, resource: v.resource, name, quotas: [] }
        byName.set(name, entry)
      }
      if (!entry.quotas.includes(q)) entry.quotas.push(q)
    }
  }
  return [...byName.values()]
}
