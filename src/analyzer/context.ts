import { formatPath, type PathSegment } from '../input/field-path.js'
import { DIAGNOSIS_EVENT_REASON, byRecency, eventContainer, isAboutObject, isAboutPod, readEvent, type EventView } from './events.js'
import { rec, type Obj } from './narrow.js'
import { controllerOf, type ContainerView, type PodView } from './pod.js'
import type { AnalyzerInput } from './types.js'

/** Everything one analysis reads, prepared once. */
export interface Ctx {
  pod: PodView
  /** Events about the pod, newest first (the analyzer's own PreflightDiagnosis events excluded). */
  events: EventView[]
  /** Events about the pod's node (NodeNotReady, Rebooted, kubelet Starting), newest first. */
  nodeEvents: EventView[]
  /** Events about the owner (FailedCreate, BackoffLimitExceeded, ...), newest first. */
  ownerEvents: EventView[]
  owner?: { kind: string; name: string; object?: Obj }
  now: Date
  /** The container each pod event is about, where that can be told. */
  attribution: Map<EventView, string | undefined>
  /** The spec came from describe text and lacks port names, restartPolicy, affinity, hooks. */
  partialSpec: boolean
}

const LONG_RUNNING_OWNERS = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'ReplicationController'])

export function makeContext(pod: PodView, input: AnalyzerInput): Ctx {
  const all = (input.events ?? []).map(readEvent).filter((e): e is EventView => e !== undefined && e.reason !== DIAGNOSIS_EVENT_REASON)
  const ref = controllerOf(pod)
  const ownerKind = input.owner?.kind ?? ref?.kind
  const ownerName = input.owner?.name ?? ref?.name
  const ctx: Ctx = {
    pod,
    events: all.filter((e) => isAboutPod(e, pod)).sort(byRecency),
    nodeEvents: pod.nodeName ? all.filter((e) => e.object.kind === 'Node' && e.object.name === pod.nodeName).sort(byRecency) : [],
    ownerEvents: ownerKind && ownerName ? all.filter((e) => isAboutObject(e, ownerKind, ownerName, pod.namespace, ref?.uid)).sort(byRecency) : [],
    now: input.now,
    attribution: new Map(),
    partialSpec: input.partialSpec === true,
  }
  if (ownerKind && ownerName) {
    ctx.owner = { kind: ownerKind, name: ownerName }
    const object = rec(input.owner?.object)
    if (object) ctx.owner.object = object
  }
  for (const e of ctx.events) ctx.attribution.set(e, attribute(e, pod))
  return ctx
}

function attribute(ev: EventView, pod: PodView): string | undefined {
  const direct = eventContainer(ev, pod)
  if (direct) return direct
  const probe = /^(Liveness|Readiness|Startup) probe/i.exec(ev.message)?.[1]?.toLowerCase()
  if (probe) {
    const withProbe = pod.containers.filter((c) => (probe === 'liveness' ? c.liveness : probe === 'readiness' ? c.readiness : c.startup) !== undefined)
    if (withProbe.length === 1 && withProbe[0]) return withProbe[0].name
  }
  const errorOf = /^Error: (\w+)/.exec(ev.message)?.[1]
  if (errorOf) {
    const waiting = pod.containers.filter((c) => c.status?.state.waiting?.reason === errorOf)
    if (waiting.length === 1 && waiting[0]) return waiting[0].name
  }
  const regular = pod.containers.filter((c) => c.kind !== 'ephemeral')
  if (regular.length === 1 && regular[0] && ev.reason !== 'FailedScheduling') return regular[0].name
  return undefined
}

export function containerEvents(ctx: Ctx, c: ContainerView): EventView[] {
  return ctx.events.filter((e) => ctx.attribution.get(e) === c.name)
}

export function isLongRunningPod(ctx: Ctx): boolean {
  const kind = ctx.owner?.kind
  if (kind === 'Job') return false
  if (ctx.pod.phase === 'Succeeded') return false
  if (kind !== undefined && LONG_RUNNING_OWNERS.has(kind)) return true
  return (ctx.pod.restartPolicy ?? 'Always') === 'Always'
}

/** Whether an exit of this container is followed by a restart the workload does not expect to end. */
export function isLongRunningContainer(ctx: Ctx, c: ContainerView): boolean {
  if (c.kind === 'init') return c.restartPolicy === 'Always'
  if (c.kind === 'ephemeral') return false
  return isLongRunningPod(ctx)
}

export function at(path: readonly PathSegment[], value: unknown): string {
  return `${formatPath(path)}: ${typeof value === 'string' ? value : JSON.stringify(value)}`
}

/** RFC 3339 as Kubernetes prints it: no milliseconds. */
export function iso(d: Date | undefined): string {
  return d === undefined ? '?' : d.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

export function ago(ctx: Ctx, t: Date | undefined): string | undefined {
  if (t === undefined) return undefined
  return formatDuration(ctx.now.getTime() - t.getTime())
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return s % 60 && m < 10 ? `${m}m${s % 60}s` : `${m}m`
  const h = Math.floor(m / 60)
  if (h < 24) return m % 60 ? `${h}h${m % 60}m` : `${h}h`
  const d = Math.floor(h / 24)
  return h % 24 && d < 10 ? `${d}d${h % 24}h` : `${d}d`
}

export function eventLine(ctx: Ctx, e: EventView): string {
  const parts: string[] = []
  if (e.count > 1) parts.push(`x${e.count}`)
  const when = ago(ctx, e.last)
  if (when !== undefined) parts.push(`last ${when} ago`)
  return `event ${e.reason}${parts.length ? ` (${parts.join(', ')})` : ''}: ${e.message}`
}

/** The commands a user runs next; names are DNS labels, so no quoting is needed. */
export const kubectl = {
  describePod: (ctx: Ctx): string => `kubectl describe pod ${ctx.pod.name} -n ${ctx.pod.namespace}`,
  logs: (ctx: Ctx, c: ContainerView, previous: boolean): string =>
    `kubectl logs ${ctx.pod.name} -n ${ctx.pod.namespace} -c ${c.name}${previous ? ' --previous' : ''}`,
  events: (ctx: Ctx): string =>
    `kubectl get events -n ${ctx.pod.namespace} --field-selector involvedObject.name=${ctx.pod.name} --sort-by=.lastTimestamp`,
  describeNode: (node: string): string => `kubectl describe node ${node}`,
}
