/**
 * Where could this pod go? The scheduler's filters, judged against the cluster view once per
 * pod and shared by the seven scheduling rules (the result is cached per PodView and view
 * revision, so 5,000 nodes are walked once per review, not seven times).
 *
 * Each node is run through the filters in a fixed order and excluded by the first it fails:
 *   1. nodeSelector             "missing label disktype=ssd"
 *   2. required node affinity   "not matching required node affinity"
 *   3. taints                   "untolerated taint dedicated=gpu:NoSchedule"
 *   4. readiness and cordon     "cordoned", "NotReady"
 *   5. allocatable              "too small for cpu"
 *   6. free room                "not enough free cpu" (only when the view knows the pods)
 * The rule that reports is the one whose filter left no node (so one pod gets one scheduling
 * finding, not five), and its message counts the excluded nodes by reason the way
 * FailedScheduling does: "0/12 nodes eligible: 8 missing label disktype=ssd, 3 ... , 1 cordoned".
 *
 * The node.kubernetes.io/not-ready, unreachable and unschedulable taints are the node
 * lifecycle's way of saying "NotReady" and "cordoned": they are counted in step 4, so the
 * taint rule speaks only of taints someone chose to put on nodes.
 */
import type { PodView } from '../engine/types.js'
import type { ClusterView, NodeInfo, NodeTaint, ResourceAmounts } from './view.js'
import { effectivePodResources, toAmounts, formatUnits, fieldKey } from './resources.js'
import type { Quantity } from '../engine/quantity.js'
import { byCodeUnits } from '../text/order.js'

export type Stage = 'selector' | 'affinity' | 'taints' | 'ready' | 'fits' | 'free'
export const STAGES: readonly Stage[] = ['selector', 'affinity', 'taints', 'ready', 'fits', 'free']

export interface Toleration {
  key?: string
  operator?: string
  value?: string
  effect?: string
}

export interface SchedulingResult {
  total: number
  /** Whether every node was counted (see schedule()); always true when blockedAt is set. */
  complete: boolean
  /** How many nodes passed each filter (and every earlier one). */
  passed: Record<Stage, number>
  /** The filter that left no node; undefined when some node is left (or free room is unknown). */
  blockedAt: Stage | undefined
  /** Excluded nodes counted by their first reason, most frequent first. */
  reasons: [string, number][]
  /** The pod's effective requests in scheduler units (pods: 1 included). */
  requests: ResourceAmounts
  /** Nodes that pass filters 1 to 5: where a replica could go once there is room. */
  fitting: readonly NodeInfo[]
  /** Untolerated taints that excluded nodes in step 3, with how many nodes each, most frequent first. */
  taints: [NodeTaint, number][]
  /** Resources nodes were too small for (step 5), and the resources nodes had no free room for (step 6). */
  tooSmall: Map<string, number>
  noRoom: Map<string, number>
  /** The largest allocatable of each requested resource among the nodes that pass steps 1 to 4. */
  largestEligible: Map<string, number>
}

const NOT_READY = 'node.kubernetes.io/not-ready'
const UNREACHABLE = 'node.kubernetes.io/unreachable'
const UNSCHEDULABLE = 'node.kubernetes.io/unschedulable'
const CONDITION_TAINTS = new Set([NOT_READY, UNREACHABLE, UNSCHEDULABLE])

/** What the DaemonSet controller adds to every daemon pod (daemon/util AddOrUpdateDaemonPodTolerations). */
const DAEMONSET_TOLERATIONS: readonly Toleration[] = [
  { key: NOT_READY, operator: 'Exists', effect: 'NoExecute' },
  { key: UNREACHABLE, operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: UNSCHEDULABLE, operator: 'Exists', effect: 'NoSchedule' },
]
const DAEMONSET_HOSTNETWORK_TOLERATIONS: readonly Toleration[] = [
  ...DAEMONSET_TOLERATIONS,
  { key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' },
]

/** v1.Toleration.ToleratesTaint. */
export function tolerates(t: Toleration, taint: NodeTaint): boolean {
  if (t.effect !== undefined && t.effect !== '' && t.effect !== taint.effect) return false
  if (t.key !== undefined && t.key !== '' && t.key !== taint.key) return false
  switch (t.operator ?? '') {
    case '':
    case 'Equal':
      return (t.value ?? '') === taint.value
    case 'Exists':
      return true
    default:
      return false
  }
}

export function tolerationsOf(pod: PodView): readonly Toleration[] {
  const own = pod.spec.tolerations ?? []
  if (pod.kind !== 'DaemonSet') return own
  return [...own, ...(pod.spec.hostNetwork === true ? DAEMONSET_HOSTNETWORK_TOLERATIONS : DAEMONSET_TOLERATIONS)]
}

export function describeTaint(t: NodeTaint): string {
  return `${t.key}${t.value === '' ? '' : `=${t.value}`}:${t.effect}`
}

const INTEGER = /^[+-]?\d+$/

interface Requirement {
  key?: string
  operator?: string
  values?: string[]
}

/** One node selector requirement against a value (label or field); `has` says whether it is set. */
export function requirementMatches(r: Requirement, has: boolean, value: string | undefined): boolean {
  const values = r.values ?? []
  switch (r.operator) {
    case 'In':
      return has && values.includes(value ?? '')
    case 'NotIn':
      return !has || !values.includes(value ?? '')
    case 'Exists':
      return has
    case 'DoesNotExist':
      return !has
    case 'Gt':
    case 'Lt': {
      if (!has || values.length !== 1) return false
      const v = value ?? ''
      const bound = values[0] ?? ''
      if (!INTEGER.test(v) || !INTEGER.test(bound)) return false
      const a = BigInt(v)
      const b = BigInt(bound)
      return r.operator === 'Gt' ? a > b : a < b
    }
    default:
      return false
  }
}

interface Term {
  matchExpressions?: Requirement[]
  matchFields?: Requirement[]
}

/** A node selector term: expressions and fields ANDed; an empty term matches no node. */
export function termMatches(term: Term, node: NodeInfo): boolean {
  const exprs = term.matchExpressions ?? []
  const fields = term.matchFields ?? []
  if (exprs.length === 0 && fields.length === 0) return false
  for (const e of exprs) {
    const key = e.key ?? ''
    if (!requirementMatches(e, Object.prototype.hasOwnProperty.call(node.labels, key), node.labels[key])) return false
  }
  for (const f of fields) {
    // metadata.name is the only field the scheduler supports, with In and NotIn.
    if (f.key !== 'metadata.name' || (f.operator !== 'In' && f.operator !== 'NotIn')) return false
    if (!requirementMatches(f, true, node.name)) return false
  }
  return true
}

/** Resources whose absence from a node's allocatable means "not reported", not "none". */
const UNREPORTED_OK = new Set(['pods', 'ephemeral-storage'])

interface Prepared {
  selector: [string, string][]
  selectorReasons: string[]
  terms: Term[] | undefined
  tolerations: readonly Toleration[]
  toleratesNotReady: boolean
  toleratesCordon: boolean
  /** The requested resources (value > 0), as parallel arrays: no allocation per node. */
  names: string[]
  values: number[]
  requests: Map<string, number>
  podsKnown: boolean
}

function isTolerated(tolerations: readonly Toleration[], t: NodeTaint): boolean {
  for (const tol of tolerations) if (tolerates(tol, t)) return true
  return false
}

function anyTerm(terms: Term[], node: NodeInfo): boolean {
  for (const t of terms) if (termMatches(t, node)) return true
  return false
}

const FAIL_SELECTOR = 0
const FAIL_AFFINITY = 1
const FAIL_TAINTS = 2
const FAIL_READY = 3
const FAIL_FITS = 4
const FAIL_FREE = 5
const PASSES = 6
/** Past every placement filter (selector, affinity, taints, readiness); the resource filters come next. */
const PLACED = FAIL_FITS

/**
 * The first placement filter a node fails (FAIL_SELECTOR to FAIL_READY), or PLACED when it passes
 * them all (resources not looked at). Allocation-free: it runs for every node.
 */
function placementStage(node: NodeInfo, p: Prepared): number {
  const sel = p.selector
  for (let i = 0; i < sel.length; i++) {
    const pair = sel[i]
    if (pair !== undefined && node.labels[pair[0]] !== pair[1]) return FAIL_SELECTOR
  }
  if (p.terms !== undefined && !anyTerm(p.terms, node)) return FAIL_AFFINITY
  let condition = false
  for (const t of node.taints) {
    if (isTolerated(p.tolerations, t)) continue
    if (CONDITION_TAINTS.has(t.key)) condition = true
    else return FAIL_TAINTS
  }
  if (condition || (node.unschedulable && !p.toleratesCordon) || (node.ready === false && !p.toleratesNotReady)) return FAIL_READY
  return PLACED
}

/** The first filter a node fails (FAIL_*), or PASSES. Allocation-free: it runs for every node. */
function failStage(node: NodeInfo, p: Prepared, view: ClusterView): number {
  const placed = placementStage(node, p)
  if (placed !== PLACED) return placed
  const alloc = node.allocatable
  if (alloc === undefined) return PASSES // capacity not reported yet: not judged
  const names = p.names
  const values = p.values
  for (let i = 0; i < names.length; i++) {
    const r = names[i] ?? ''
    const a = alloc.get(r)
    if (a === undefined && UNREPORTED_OK.has(r)) continue
    if ((values[i] ?? 0) > (a ?? 0)) return FAIL_FITS
  }
  if (!p.podsKnown) return PASSES
  const used = view.requestedOn(node.name)
  if (used === undefined) return PASSES
  for (let i = 0; i < names.length; i++) {
    const r = names[i] ?? ''
    const a = alloc.get(r)
    if (a === undefined && UNREPORTED_OK.has(r)) continue
    if ((values[i] ?? 0) > (a ?? 0) - (used.get(r) ?? 0)) return FAIL_FREE
  }
  return PASSES
}

const taintLabels = new WeakMap<NodeTaint, string>()
function taintLabel(t: NodeTaint): string {
  let l = taintLabels.get(t)
  if (l === undefined) {
    l = `untolerated taint ${describeTaint(t)}`
    taintLabels.set(t, l)
  }
  return l
}

interface CacheEntry {
  view: ClusterView
  revision: number
  verdict?: SchedulingResult | undefined
  full?: SchedulingResult | undefined
  eligible?: number | undefined
}
const cache = new WeakMap<PodView, CacheEntry>()

function entryFor(pod: PodView, view: ClusterView): CacheEntry {
  let entry = cache.get(pod)
  if (entry === undefined || entry.view !== view || entry.revision !== view.revision) {
    entry = { view, revision: view.revision }
    cache.set(pod, entry)
  }
  return entry
}

/**
 * How many nodes the pod's placement allows (node selector, required node affinity, taints,
 * readiness and cordons, as the DaemonSet controller places its pods): `passed.ready` of
 * schedule(pod, view, 'full'), without the resource filters or the per-reason counts, so a
 * walk over 5,000 nodes reads only their labels and taints. Undefined when schedule is.
 */
export function eligibleNodes(pod: PodView, view: ClusterView): number | undefined {
  const entry = entryFor(pod, view)
  if ('full' in entry) return entry.full?.passed.ready
  if ('eligible' in entry) return entry.eligible
  const p = prepare(pod, view)
  let n: number | undefined
  if (p !== undefined) {
    n = 0
    for (const node of view.nodes()) if (placementStage(node, p) === PLACED) n++
  }
  entry.eligible = n
  return n
}

/**
 * Judges where the pod could go; undefined when the view cannot say (no nodes known, or the
 * pod names its node itself and so bypasses the scheduler).
 *
 * With detail 'verdict' (the default) the walk stops at the first node that takes the pod, so
 * the usual review costs a few nodes, not 5,000: then `blockedAt` is undefined and the counts
 * are not complete. When no node takes the pod, and with detail 'full', every node is counted.
 */
export function schedule(pod: PodView, view: ClusterView, detail: 'verdict' | 'full' = 'verdict'): SchedulingResult | undefined {
  const entry = entryFor(pod, view)
  if ('full' in entry) return entry.full
  if (detail === 'verdict' && 'verdict' in entry) return entry.verdict
  const p = prepare(pod, view)
  let result: SchedulingResult | undefined
  if (p === undefined) result = undefined
  else if (detail === 'verdict') {
    const nodes = view.nodes()
    let found = false
    for (const node of nodes) {
      if (failStage(node, p, view) === PASSES) {
        found = true
        break
      }
    }
    if (found) {
      result = {
        total: nodes.length,
        complete: false,
        passed: { selector: 1, affinity: 1, taints: 1, ready: 1, fits: 1, free: 1 },
        blockedAt: undefined,
        reasons: [],
        requests: p.requests,
        fitting: [],
        taints: [],
        tooSmall: new Map(),
        noRoom: new Map(),
        largestEligible: new Map(),
      }
      entry.verdict = result
      return result
    }
    result = full(p, view)
  } else {
    result = full(p, view)
  }
  entry.full = result
  entry.verdict = result
  return result
}

function prepare(pod: PodView, view: ClusterView): Prepared | undefined {
  if (pod.spec.nodeName !== undefined && pod.spec.nodeName !== '') return undefined
  if (!view.knows('Node') || view.nodes().length === 0) return undefined
  const res = effectivePodResources(pod, view)
  const requests = toAmounts(res.requests)
  requests.set('pods', 1)
  const names: string[] = []
  const values: number[] = []
  for (const [r, v] of requests) {
    if (v > 0) {
      names.push(r)
      values.push(v)
    }
  }
  const selector = Object.entries(pod.spec.nodeSelector ?? {})
  const tolerations = tolerationsOf(pod)
  return {
    selector,
    selectorReasons: selector.map(([k, v]) => `missing label ${k}=${v}`),
    terms: pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms,
    tolerations,
    toleratesNotReady: isTolerated(tolerations, { key: NOT_READY, value: '', effect: 'NoSchedule' }),
    toleratesCordon: isTolerated(tolerations, { key: UNSCHEDULABLE, value: '', effect: 'NoSchedule' }),
    names,
    values,
    requests,
    podsKnown: view.knows('Pod'),
  }
}

/** Every node through every filter, counting why each excluded node was excluded. */
function full(p: Prepared, view: ClusterView): SchedulingResult {
  const nodes = view.nodes()
  const passed: Record<Stage, number> = { selector: 0, affinity: 0, taints: 0, ready: 0, fits: 0, free: 0 }
  const selectorCounts = new Array<number>(p.selector.length).fill(0)
  let affinityCount = 0
  let cordoned = 0
  let notReady = 0
  const taintCounts = new Map<string, [NodeTaint, number]>()
  const smallCounts = new Array<number>(p.names.length).fill(0)
  const roomCounts = new Array<number>(p.names.length).fill(0)
  const largest = new Array<number>(p.names.length).fill(-1)
  const fitting: NodeInfo[] = []
  for (const node of nodes) {
    const stage = failStage(node, p, view)
    if (stage > FAIL_SELECTOR) passed.selector++
    if (stage > FAIL_AFFINITY) passed.affinity++
    if (stage > FAIL_TAINTS) passed.taints++
    if (stage > FAIL_READY) passed.ready++
    if (stage > FAIL_FITS) passed.fits++
    if (stage > FAIL_FREE) passed.free++
    const alloc = node.allocatable
    if (stage > FAIL_READY && alloc !== undefined) {
      for (let i = 0; i < p.names.length; i++) {
        const a = alloc.get(p.names[i] ?? '') ?? 0
        if (a > (largest[i] ?? -1)) largest[i] = a
      }
    }
    if (stage > FAIL_FITS) fitting.push(node)
    switch (stage) {
      case FAIL_SELECTOR:
        for (let i = 0; i < p.selector.length; i++) {
          const pair = p.selector[i]
          if (pair !== undefined && node.labels[pair[0]] !== pair[1]) {
            selectorCounts[i] = (selectorCounts[i] ?? 0) + 1
            break
          }
        }
        break
      case FAIL_AFFINITY:
        affinityCount++
        break
      case FAIL_TAINTS:
        for (const t of node.taints) {
          if (isTolerated(p.tolerations, t) || CONDITION_TAINTS.has(t.key)) continue
          const label = taintLabel(t)
          const tc = taintCounts.get(label)
          if (tc === undefined) taintCounts.set(label, [t, 1])
          else tc[1]++
          break
        }
        break
      case FAIL_READY: {
        let cordonTaint = false
        for (const t of node.taints) if (t.key === UNSCHEDULABLE && !isTolerated(p.tolerations, t)) cordonTaint = true
        if (cordonTaint || (node.unschedulable && !p.toleratesCordon)) cordoned++
        else notReady++
        break
      }
      case FAIL_FITS:
        // Like the scheduler, a node short of several resources counts once for each.
        for (let i = 0; i < p.names.length; i++) {
          const r = p.names[i] ?? ''
          const a = alloc?.get(r)
          if (a === undefined && UNREPORTED_OK.has(r)) continue
          if ((p.values[i] ?? 0) > (a ?? 0)) smallCounts[i] = (smallCounts[i] ?? 0) + 1
        }
        break
      case FAIL_FREE: {
        const used = view.requestedOn(node.name)
        for (let i = 0; i < p.names.length; i++) {
          const r = p.names[i] ?? ''
          const a = alloc?.get(r)
          if (a === undefined && UNREPORTED_OK.has(r)) continue
          if ((p.values[i] ?? 0) > (a ?? 0) - (used?.get(r) ?? 0)) roomCounts[i] = (roomCounts[i] ?? 0) + 1
        }
        break
      }
    }
  }

  const reasons = new Map<string, number>()
  p.selector.forEach((_, i) => {
    const n = selectorCounts[i] ?? 0
    if (n > 0) reasons.set(p.selectorReasons[i] ?? '', n)
  })
  if (affinityCount > 0) reasons.set('not matching required node affinity', affinityCount)
  for (const [label, [, n]] of taintCounts) reasons.set(label, n)
  if (cordoned > 0) reasons.set('cordoned', cordoned)
  if (notReady > 0) reasons.set('NotReady', notReady)
  const tooSmall = new Map<string, number>()
  const noRoom = new Map<string, number>()
  const largestEligible = new Map<string, number>()
  p.names.forEach((r, i) => {
    const small = smallCounts[i] ?? 0
    const room = roomCounts[i] ?? 0
    if (small > 0) {
      tooSmall.set(r, small)
      reasons.set(`too small for ${r}`, small)
    }
    if (room > 0) {
      noRoom.set(r, room)
      reasons.set(`not enough free ${r}`, room)
    }
    if ((largest[i] ?? -1) >= 0) largestEligible.set(r, largest[i] ?? 0)
  })

  let blockedAt: Stage | undefined
  for (const s of STAGES) {
    if (s === 'free' && !p.podsKnown) break
    if (passed[s] === 0) {
      blockedAt = s
      break
    }
  }
  const sorted = [...reasons].sort((a, b) => b[1] - a[1] || byCodeUnits(a[0], b[0]))
  return {
    total: nodes.length,
    complete: true,
    passed,
    blockedAt,
    reasons: sorted,
    requests: p.requests,
    fitting,
    taints: [...taintCounts.values()].sort((a, b) => b[1] - a[1]),
    tooSmall,
    noRoom,
    largestEligible,
  }
}

/** "0/12 nodes eligible: 8 missing label disktype=ssd, 3 untolerated taint dedicated=gpu:NoSchedule, 1 cordoned". */
export function countedReasons(result: SchedulingResult, eligible: number, max = 6): string {
  const shown = result.reasons.slice(0, max).map(([r, n]) => `${n} ${r}`)
  const more = result.reasons.length - max
  return `${eligible}/${result.total} nodes eligible: ${shown.join(', ')}${more > 0 ? `, and ${more} more reason${more === 1 ? '' : 's'}` : ''}`
}

/** The pod's requests as people write them: "cpu 32, memory 64Gi". */
export function describeRequests(requests: ResourceAmounts, only?: readonly string[]): string {
  return [...requests]
    .filter(([r, v]) => r !== 'pods' && v > 0 && (only === undefined || only.includes(r)))
    .map(([r, v]) => `${r} ${formatUnits(r, v)}`)
    .join(', ')
}


/**
 * The field to point at for a resource: the request of the container that asks the most of
 * it (LimitRange defaults included), else the pod overhead.
 */
export function requestField(pod: PodView, view: ClusterView, resource: string, field: 'requests' | 'limits' = 'requests'): { path: string; container?: string } {
  const res = effectivePodResources(pod, view)
  let best: { i: number; q: Quantity } | undefined
  pod.containers.forEach((c, i) => {
    if (c.kind === 'ephemeralContainer') return
    const q = res.containers[i]?.[field].get(resource)
    if (q !== undefined && (best === undefined || q.gt(best.q))) best = { i, q }
  })
  const c = best === undefined ? undefined : pod.containers[best.i]
  if (c !== undefined) return { path: `${c.path}.resources.${field}${fieldKey(resource)}`, container: c.name }
  if (pod.spec.overhead?.[resource] !== undefined) return { path: `${pod.specPath}.overhead${fieldKey(resource)}` }
  return { path: `${pod.specPath}.containers` }
}

/** Said by every scheduling finding: these rules warn because an autoscaler may still add a node. */
export const AUTOSCALER_NOTE = 'unless an autoscaler adds a suitable node'

export interface Domains {
  /** Distinct values of the key among the nodes the pod fits on (size capped at `enough`). */
  values: Set<string>
  /** A node the pod fits on lacks the key: such nodes do not limit the count. */
  unlimited: boolean
  /** How many nodes the pod fits on were seen. */
  nodes: number
}

/**
 * The topology domains (distinct values of a label) among the nodes that pass filters 1 to 5,
 * for required anti-affinity. Stops as soon as there are `enough`, so the usual satisfied case
 * costs a few nodes.
 */
export function topologyDomains(pod: PodView, view: ClusterView, key: string, enough: number): Domains | undefined {
  const p = prepare(pod, view)
  if (p === undefined) return undefined
  const out: Domains = { values: new Set(), unlimited: false, nodes: 0 }
  for (const node of view.nodes()) {
    if (failStage(node, p, view) <= FAIL_FITS) continue
    out.nodes++
    const v = node.labels[key]
    if (v === undefined) {
      out.unlimited = true
      return out
    }
    out.values.add(v)
    if (out.values.size >= enough) return out
  }
  return out
}
