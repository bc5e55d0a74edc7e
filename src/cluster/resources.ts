/**
 * A pod's resources as the API server, the LimitRanger, ResourceQuota and the scheduler see
 * them: requests defaulted from limits, LimitRange defaults filled in, then aggregated the way
 * k8s.io/component-helpers/resource does (the largest init container step against the sum of
 * app containers and native sidecars, plus the pod overhead).
 */
import { Quantity } from '../engine/quantity.js'
import type { Container, PodSpec } from '../engine/k8s.js'
import type { LimitRangeInfo } from './view.js'

export type ResourceList = Map<string, Quantity>

function parseList(raw: Record<string, string | number> | undefined): ResourceList {
  const out: ResourceList = new Map()
  for (const [k, v] of Object.entries(raw ?? {})) {
    const q = Quantity.parse(v)
    // An invalid quantity is reported by the static rules; here it simply counts as absent.
    if (q !== undefined) out.set(k, q)
  }
  return out
}

export interface ContainerResources {
  requests: ResourceList
  limits: ResourceList
  /** Resources whose request (or limit) came from a LimitRange default, with the LimitRange's name. */
  defaultedRequests: Map<string, string>
  defaultedLimits: Map<string, string>
}

/**
 * One container's requests and limits after API defaulting (a resource with only a limit gets
 * the same request) and LimitRange defaults (first LimitRange that has a default wins, as in the
 * LimitRanger admission plugin, which walks them in order and never overwrites a set value).
 */
export function containerResources(c: Container, limitRanges: readonly LimitRangeInfo[] = []): ContainerResources {
  const requests = parseList(c.resources?.requests)
  const limits = parseList(c.resources?.limits)
  for (const [k, v] of limits) if (!requests.has(k)) requests.set(k, v)
  const defaultedRequests = new Map<string, string>()
  const defaultedLimits = new Map<string, string>()
  for (const lr of limitRanges) {
    // One LimitRange merges all its Container items into one set of defaults; later items win.
    const defLimits: ResourceList = new Map()
    const defRequests: ResourceList = new Map()
    for (const item of lr.items) {
      if (item.type !== 'Container') continue
      for (const [k, v] of item.default) defLimits.set(k, v)
      for (const [k, v] of item.defaultRequest) defRequests.set(k, v)
    }
    for (const [k, v] of defLimits) {
      if (!limits.has(k)) {
        limits.set(k, v)
        defaultedLimits.set(k, lr.name)
      }
    }
    for (const [k, v] of defRequests) {
      if (!requests.has(k)) {
        requests.set(k, v)
        defaultedRequests.set(k, lr.name)
      }
    }
  }
  return { requests, limits, defaultedRequests, defaultedLimits }
}

function addInto(target: ResourceList, add: ResourceList): void {
  for (const [k, v] of add) {
    const cur = target.get(k)
    target.set(k, cur === undefined ? v : cur.add(v))
  }
}

function maxInto(target: ResourceList, other: ResourceList): void {
  for (const [k, v] of other) {
    const cur = target.get(k)
    if (cur === undefined || v.gt(cur)) target.set(k, v)
  }
}

export interface AggregateInput {
  /** init containers in order, then app containers; ephemeral containers never count. */
  init: { sidecar: boolean; list: ResourceList }[]
  app: ResourceList[]
}

/**
 * The pod-level value: sum of app containers and sidecars, against the largest init step
 * (an init container runs next to the sidecars started before it).
 */
export function aggregate(input: AggregateInput): ResourceList {
  const total: ResourceList = new Map()
  for (const l of input.app) addInto(total, l)
  const sidecars: ResourceList = new Map()
  const initMax: ResourceList = new Map()
  for (const c of input.init) {
    let step: ResourceList
    if (c.sidecar) {
      addInto(total, c.list)
      addInto(sidecars, c.list)
      step = new Map(sidecars)
    } else {
      step = new Map(c.list)
      addInto(step, sidecars)
    }
    maxInto(initMax, step)
  }
  maxInto(total, initMax)
  return total
}

export interface PodResources {
  /** Per container (init, then app), by index in the list given. */
  containers: ContainerResources[]
  /** Effective pod requests, with the overhead: what the scheduler and quota count. */
  requests: ResourceList
  /** Effective pod limits; the overhead is added only to resources that have a limit. */
  limits: ResourceList
}

export interface ResourceContainer {
  spec: Container
  kind: 'container' | 'initContainer' | 'ephemeralContainer'
}

export function podResources(containers: readonly ResourceContainer[], overheadRaw: PodSpec['overhead'], limitRanges: readonly LimitRangeInfo[] = []): PodResources {
  const per = containers.map((c) => (c.kind === 'ephemeralContainer' ? emptyResources() : containerResources(c.spec, limitRanges)))
  const reqIn: AggregateInput = { init: [], app: [] }
  const limIn: AggregateInput = { init: [], app: [] }
  containers.forEach((c, i) => {
    const r = per[i]
    if (r === undefined || c.kind === 'ephemeralContainer') return
    if (c.kind === 'initContainer') {
      const sidecar = c.spec.restartPolicy === 'Always'
      reqIn.init.push({ sidecar, list: r.requests })
      limIn.init.push({ sidecar, list: r.limits })
    } else {
      reqIn.app.push(r.requests)
      limIn.app.push(r.limits)
    }
  })
  const requests = aggregate(reqIn)
  const limits = aggregate(limIn)
  const overhead = parseList(overheadRaw)
  addInto(requests, overhead)
  for (const [k, v] of overhead) {
    const cur = limits.get(k)
    if (cur !== undefined) limits.set(k, cur.add(v))
  }
  return { containers: per, requests, limits }
}

function emptyResources(): ContainerResources {
  return { requests: new Map(), limits: new Map(), defaultedRequests: new Map(), defaultedLimits: new Map() }
}

/** The ordering podResources expects, from a pod spec. */
export function specContainers(spec: PodSpec): ResourceContainer[] {
  return [
    ...(spec.initContainers ?? []).map((c) => ({ spec: c, kind: 'initContainer' as const })),
    ...(spec.containers ?? []).map((c) => ({ spec: c, kind: 'container' as const })),
  ]
}

/** A quantity in scheduler units: millicores for cpu, whole units (rounded up) for the rest. */
export function toUnits(resource: string, q: Quantity): number {
  return Number(resource === 'cpu' ? q.mul(1000).ceil() : q.ceil())
}

export function toAmounts(list: ResourceList): Map<string, number> {
  const out = new Map<string, number>()
  for (const [k, v] of list) out.set(k, toUnits(k, v))
  return out
}

/** Back from scheduler units to a Quantity, for messages and quota arithmetic. */
export function fromUnits(resource: string, units: number): Quantity {
  return resource === 'cpu' ? new Quantity(BigInt(units), 1000n) : Quantity.fromInteger(units)
}

const BYTE_RESOURCE = /(^|\.)(memory|ephemeral-storage|storage)$|hugepages-/

export function formatAmount(resource: string, q: Quantity): string {
  if (resource === 'cpu' || resource.endsWith('.cpu')) {
    // 500m, 3920m as kubectl shows them; whole and one-decimal amounts as numbers: 2, 10.5.
    const milli = q.mul(1000)
    if (milli.isInteger() && milli.n % 100n !== 0n) return `${milli.n}m`
    if (milli.isInteger() && q.lt(Quantity.fromInteger(1)) && milli.n !== 0n) return `${milli.n}m`
    return `${Math.round(q.toNumber() * 1000) / 1000}`
  }
  if (BYTE_RESOURCE.test(resource)) {
    const units: Array<[string, number]> = [['Ti', 2 ** 40], ['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]]
    const v = q.toNumber()
    for (const [u, size] of units) if (v >= size) return `${Math.round((v / size) * 100) / 100}${u}`
    return `${Math.round(v * 1000) / 1000}`
  }
  return q.isInteger() ? q.n.toString() : `${Math.round(q.toNumber() * 1000) / 1000}`
}

export function formatUnits(resource: string, units: number): string {
  return formatAmount(resource, fromUnits(resource, units))
}

const podCache = new WeakMap<object, { view: object | undefined; revision: number; res: PodResources }>()

/**
 * The pod's resources with its namespace's LimitRange defaults applied, cached per pod and
 * view revision: the scheduling, quota and LimitRange rules all start from it.
 */
export function effectivePodResources(
  pod: { containers: readonly ResourceContainer[]; spec: PodSpec; object: { namespace?: string } },
  view: { revision: number; limitRanges(namespace: string): readonly LimitRangeInfo[] } | undefined,
): PodResources {
  const hit = podCache.get(pod)
  const revision = view?.revision ?? -1
  if (hit !== undefined && hit.view === view && hit.revision === revision) return hit.res
  const ranges = view === undefined ? [] : view.limitRanges(pod.object.namespace ?? 'default')
  const res = podResources(pod.containers, pod.spec.overhead, ranges)
  podCache.set(pod, { view, revision, res })
  return res
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_-]*$/

/** A map key as a field path segment: `.cpu`, or `["nvidia.com/gpu"]`. */
export function fieldKey(key: string): string {
  return IDENT.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`
}
