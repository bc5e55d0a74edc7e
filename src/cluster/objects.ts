/**
 * Turns API objects (from a watch, a list, or a state file) into the compact, checked records
 * of the view. Everything not listed in view.ts is dropped here, so a 5,000-node cluster costs
 * kilobytes per node, not the tens of kilobytes of a full Node object with its image list.
 */
import { Quantity } from '../engine/quantity.js'
import { object, list, record, str, int, bool, intOrString, quantityText, type ShapeError } from '../engine/shape.js'
import { podSpecShape } from '../engine/k8s.js'
import { podResources, specContainers, toAmounts, toUnits } from './resources.js'
import type {
  ConfigMapInfo,
  ContainerPortInfo,
  LimitRangeInfo,
  LimitRangeItemInfo,
  NodeInfo,
  NodeTaint,
  PersistentVolumeClaimInfo,
  PodInfo,
  QuotaInfo,
  SecretInfo,
  ServiceAccountInfo,
  ServiceInfo,
  StateKind,
} from './view.js'

const metaShape = object({ name: str, namespace: str, labels: record(str) })
const resourceListShape = record(quantityText)

const nodeShape = object({
  metadata: metaShape,
  spec: object({ unschedulable: bool, taints: list(object({ key: str, value: str, effect: str })) }),
  status: object({ allocatable: resourceListShape, conditions: list(object({ type: str, status: str })) }),
})

const quotaShape = object({
  metadata: metaShape,
  spec: object({
    hard: resourceListShape,
    scopes: list(str),
    scopeSelector: object({ matchExpressions: list(object({ scopeName: str, operator: str, values: list(str) })) }),
  }),
  status: object({ hard: resourceListShape, used: resourceListShape }),
})

const limitRangeShape = object({
  metadata: metaShape,
  spec: object({
    limits: list(
      object({
        type: str,
        min: resourceListShape,
        max: resourceListShape,
        default: resourceListShape,
        defaultRequest: resourceListShape,
        maxLimitRequestRatio: resourceListShape,
      }),
    ),
  }),
})

const configMapShape = object({ metadata: metaShape, data: record(str), binaryData: record(str) })
const pvcShape = object({ metadata: metaShape, status: object({ phase: str }) })
const serviceAccountShape = object({ metadata: metaShape, imagePullSecrets: list(object({ name: str })) })
const serviceShape = object({
  metadata: metaShape,
  spec: object({
    type: str,
    selector: record(str),
    ports: list(object({ name: str, port: int, protocol: str, targetPort: intOrString })),
  }),
})
const podShape = object({ metadata: metaShape, spec: podSpecShape, status: object({ phase: str }) })

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function quantities(raw: Record<string, string | number> | undefined, path: string, errors: ShapeError[]): Map<string, Quantity> {
  const out = new Map<string, Quantity>()
  for (const [k, v] of Object.entries(raw ?? {})) {
    const q = Quantity.parse(v)
    if (q === undefined) errors.push({ path: `${path}.${k}`, message: `is not a valid quantity: ${JSON.stringify(v)}` })
    else out.set(k, q)
  }
  return out
}

function nameOf(meta: { name?: string } | undefined, errors: ShapeError[]): string | undefined {
  const name = meta?.name
  if (name === undefined || name === '') {
    errors.push({ path: 'metadata.name', message: 'is missing' })
    return undefined
  }
  return name
}

const EMPTY_LABELS: Readonly<Record<string, string>> = Object.freeze({})

/**
 * Shares identical small records between objects: the replicas of a workload have the same
 * labels and requests, and nodes of one instance type the same allocatable. With 30,000 pods
 * this keeps a few hundred maps instead of 60,000. Bounded, so odd clusters cannot grow it
 * without limit (past the bound, records are simply not shared).
 */
class Interner<T> {
  private readonly byKey = new Map<string, T>()
  constructor(private readonly max = 50_000) {}
  get(key: string, make: () => T): T {
    const hit = this.byKey.get(key)
    if (hit !== undefined) return hit
    const v = make()
    if (this.byKey.size < this.max) this.byKey.set(key, v)
    return v
  }
}

const amountsInterner = new Interner<ReadonlyMap<string, number>>()
const labelsInterner = new Interner<Readonly<Record<string, string>>>()
const portsInterner = new Interner<readonly ContainerPortInfo[]>()

function internPorts(ports: ContainerPortInfo[]): readonly ContainerPortInfo[] {
  if (ports.length === 0) return NO_PORTS
  let key = ''
  for (const p of ports) key += `${p.name ?? ''}\u0000${p.containerPort}\u0000${p.protocol}\u0001`
  return portsInterner.get(key, () => Object.freeze(ports))
}

function internAmounts(m: Map<string, number>): ReadonlyMap<string, number> {
  let key = ''
  for (const [k, v] of m) key += `${k}\u0000${v}\u0001`
  return amountsInterner.get(key, () => m)
}

function internLabels(labels: Record<string, string> | undefined): Readonly<Record<string, string>> {
  if (labels === undefined) return EMPTY_LABELS
  const keys = Object.keys(labels)
  if (keys.length === 0) return EMPTY_LABELS
  let key = ''
  for (const k of keys) key += `${k}\u0000${labels[k] ?? ''}\u0001`
  return labelsInterner.get(key, () => Object.freeze(labels))
}

export function nodeInfo(raw: unknown, errors: ShapeError[] = []): NodeInfo | undefined {
  const n = nodeShape.check(raw, [], errors)
  const name = nameOf(n?.metadata, errors)
  if (n === undefined || name === undefined) return undefined
  const taints: NodeTaint[] = []
  for (const t of n.spec?.taints ?? []) {
    if (t.effect !== 'NoSchedule' && t.effect !== 'NoExecute') continue
    taints.push({ key: t.key ?? '', value: t.value ?? '', effect: t.effect })
  }
  const ready = n.status?.conditions?.find((c) => c.type === 'Ready')
  const alloc = n.status?.allocatable
  let allocatable: Map<string, number> | undefined
  if (alloc !== undefined && Object.keys(alloc).length > 0) {
    allocatable = new Map()
    for (const [k, q] of quantities(alloc, 'status.allocatable', errors)) allocatable.set(k, toUnits(k, q))
  }
  return {
    name,
    labels: n.metadata?.labels ?? EMPTY_LABELS,
    taints,
    unschedulable: n.spec?.unschedulable === true,
    ready: ready === undefined ? undefined : ready.status === 'True',
    allocatable: allocatable === undefined ? undefined : internAmounts(allocatable),
  }
}

export function quotaInfo(raw: unknown, errors: ShapeError[] = []): QuotaInfo | undefined {
  const q = quotaShape.check(raw, [], errors)
  const name = nameOf(q?.metadata, errors)
  if (q === undefined || name === undefined) return undefined
  const statusHard = q.status?.hard
  const hard =
    statusHard !== undefined && Object.keys(statusHard).length > 0
      ? quantities(statusHard, 'status.hard', errors)
      : quantities(q.spec?.hard, 'spec.hard', errors)
  return {
    namespace: q.metadata?.namespace ?? '',
    name,
    hard,
    used: quantities(q.status?.used, 'status.used', errors),
    scopes: q.spec?.scopes ?? [],
    scopeSelector: (q.spec?.scopeSelector?.matchExpressions ?? []).map((e) => ({
      scopeName: e.scopeName ?? '',
      operator: e.operator ?? '',
      values: e.values ?? [],
    })),
  }
}

export function limitRangeInfo(raw: unknown, errors: ShapeError[] = []): LimitRangeInfo | undefined {
  const lr = limitRangeShape.check(raw, [], errors)
  const name = nameOf(lr?.metadata, errors)
  if (lr === undefined || name === undefined) return undefined
  const items: LimitRangeItemInfo[] = (lr.spec?.limits ?? []).map((l, i) => {
    const p = `spec.limits[${i}]`
    const item = {
      type: l.type ?? '',
      min: quantities(l.min, `${p}.min`, errors),
      max: quantities(l.max, `${p}.max`, errors),
      default: quantities(l.default, `${p}.default`, errors),
      defaultRequest: quantities(l.defaultRequest, `${p}.defaultRequest`, errors),
      maxLimitRequestRatio: quantities(l.maxLimitRequestRatio, `${p}.maxLimitRequestRatio`, errors),
    }
    if (item.type === 'Container') {
      // The API server's defaulting (SetDefaults_LimitRangeItem), for hand-written state files:
      // a missing default limit takes max; a missing default request takes the default limit, else min.
      for (const [k, v] of item.max) if (!item.default.has(k)) item.default.set(k, v)
      for (const [k, v] of item.default) if (!item.defaultRequest.has(k)) item.defaultRequest.set(k, v)
      for (const [k, v] of item.min) if (!item.defaultRequest.has(k)) item.defaultRequest.set(k, v)
    }
    return item
  })
  return { namespace: lr.metadata?.namespace ?? '', name, items }
}

export function configMapInfo(raw: unknown, errors: ShapeError[] = []): ConfigMapInfo | undefined {
  const cm = configMapShape.check(raw, [], errors)
  const name = nameOf(cm?.metadata, errors)
  if (cm === undefined || name === undefined) return undefined
  return { name, keys: new Set([...Object.keys(cm.data ?? {}), ...Object.keys(cm.binaryData ?? {})]) }
}

/** From a Secret or its PartialObjectMetadata: the name, nothing else (data is never read). */
export function secretInfo(raw: unknown, errors: ShapeError[] = []): SecretInfo | undefined {
  const meta = isRecord(raw) ? metaShape.check(raw['metadata'], ['metadata'], errors) : undefined
  const name = nameOf(meta, errors)
  return name === undefined ? undefined : { name }
}

export function pvcInfo(raw: unknown, errors: ShapeError[] = []): PersistentVolumeClaimInfo | undefined {
  const p = pvcShape.check(raw, [], errors)
  const name = nameOf(p?.metadata, errors)
  if (p === undefined || name === undefined) return undefined
  return { name, phase: p.status?.phase }
}

export function serviceAccountInfo(raw: unknown, errors: ShapeError[] = []): ServiceAccountInfo | undefined {
  const sa = serviceAccountShape.check(raw, [], errors)
  const name = nameOf(sa?.metadata, errors)
  if (sa === undefined || name === undefined) return undefined
  return { name, imagePullSecrets: (sa.imagePullSecrets ?? []).map((s) => s.name ?? '').filter((s) => s !== '') }
}

export function serviceInfo(raw: unknown, errors: ShapeError[] = []): ServiceInfo | undefined {
  const s = serviceShape.check(raw, [], errors)
  const name = nameOf(s?.metadata, errors)
  if (s === undefined || name === undefined) return undefined
  const selector = s.spec?.selector
  return {
    name,
    type: s.spec?.type ?? 'ClusterIP',
    selector: selector !== undefined && Object.keys(selector).length > 0 ? selector : undefined,
    ports: (s.spec?.ports ?? []).flatMap((p) =>
      p.port === undefined ? [] : [{ name: p.name, port: p.port, protocol: p.protocol ?? 'TCP', targetPort: p.targetPort }],
    ),
  }
}

const TERMINAL_PHASES = new Set(['Succeeded', 'Failed'])
const NO_PORTS: readonly ContainerPortInfo[] = Object.freeze([])

/** A pod's compact record; undefined for pods that have finished (they hold no resources). */
export function podInfo(raw: unknown, errors: ShapeError[] = []): PodInfo | undefined {
  const p = podShape.check(raw, [], errors)
  const name = nameOf(p?.metadata, errors)
  if (p === undefined || name === undefined) return undefined
  if (p.status?.phase !== undefined && TERMINAL_PHASES.has(p.status.phase)) return undefined
  const spec = p.spec ?? {}
  const res = podResources(specContainers(spec), spec.overhead)
  const requests = toAmounts(res.requests)
  requests.set('pods', 1)
  const ports: ContainerPortInfo[] = []
  let everyContainerDeclaresPorts = true
  for (const c of [...(spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always'), ...(spec.containers ?? [])]) {
    if ((c.ports ?? []).length === 0) everyContainerDeclaresPorts = false
    for (const port of c.ports ?? []) {
      if (port.containerPort === undefined) continue
      ports.push({ name: port.name, containerPort: port.containerPort, protocol: port.protocol ?? 'TCP' })
    }
  }
  let bestEffort = true
  for (const c of specContainers(spec)) {
    const r = c.spec.resources
    for (const k of ['cpu', 'memory']) {
      if (r?.requests?.[k] !== undefined || r?.limits?.[k] !== undefined) bestEffort = false
    }
  }
  return {
    namespace: p.metadata?.namespace ?? '',
    name,
    labels: internLabels(p.metadata?.labels),
    nodeName: spec.nodeName === '' ? undefined : spec.nodeName,
    ports: internPorts(ports),
    everyContainerDeclaresPorts,
    requests: internAmounts(requests),
    limits: internAmounts(toAmounts(res.limits)),
    priorityClassName: spec.priorityClassName,
    terminating: spec.activeDeadlineSeconds !== undefined,
    bestEffort,
  }
}

export type StateInfo =
  | { kind: 'Node'; info: NodeInfo }
  | { kind: 'ResourceQuota'; info: QuotaInfo }
  | { kind: 'LimitRange'; info: LimitRangeInfo }
  | { kind: 'ConfigMap'; info: ConfigMapInfo }
  | { kind: 'Secret'; info: SecretInfo }
  | { kind: 'PersistentVolumeClaim'; info: PersistentVolumeClaimInfo }
  | { kind: 'ServiceAccount'; info: ServiceAccountInfo }
  | { kind: 'Service'; info: ServiceInfo }
  | { kind: 'Pod'; info: PodInfo }

/** Converts an object of one of the view's kinds (`kind` is the object's own, or the informer's). */
export function toStateInfo(kind: StateKind, raw: unknown, errors: ShapeError[] = []): StateInfo | undefined {
  switch (kind) {
    case 'Node': {
      const info = nodeInfo(raw, errors)
      return info && { kind, info }
    }
    case 'ResourceQuota': {
      const info = quotaInfo(raw, errors)
      return info && { kind, info }
    }
    case 'LimitRange': {
      const info = limitRangeInfo(raw, errors)
      return info && { kind, info }
    }
    case 'ConfigMap': {
      const info = configMapInfo(raw, errors)
      return info && { kind, info }
    }
    case 'Secret': {
      const info = secretInfo(raw, errors)
      return info && { kind, info }
    }
    case 'PersistentVolumeClaim': {
      const info = pvcInfo(raw, errors)
      return info && { kind, info }
    }
    case 'ServiceAccount': {
      const info = serviceAccountInfo(raw, errors)
      return info && { kind, info }
    }
    case 'Service': {
      const info = serviceInfo(raw, errors)
      return info && { kind, info }
    }
    case 'Pod': {
      const info = podInfo(raw, errors)
      return info && { kind, info }
    }
  }
}

/** The namespace of a raw object ('' when it names none). */
export function namespaceOf(raw: unknown): string {
  if (!isRecord(raw)) return ''
  const meta = raw['metadata']
  if (!isRecord(meta)) return ''
  const ns = meta['namespace']
  return typeof ns === 'string' ? ns : ''
}

export function nameOfRaw(raw: unknown): string {
  if (!isRecord(raw)) return ''
  const meta = raw['metadata']
  if (!isRecord(meta)) return ''
  const n = meta['name']
  return typeof n === 'string' ? n : ''
}
