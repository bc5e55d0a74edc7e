import { byRecency, readEvent, type EventView } from './events.js'
import { classifyPullMessage, classifyStartMessage, parseMissingConfig } from './messages.js'

/**
 * A pod seen only through its events (a pasted Events section, `kubectl get events`): the
 * states the kubelet's events imply are rebuilt into a Pod, so that the analyzer's rules apply
 * unchanged. The spec and status are guesses from event wording; the analysis drops every
 * evidence line that quotes them (see EVENTS_ONLY_EVIDENCE) and keeps the events themselves.
 */

type Json = Record<string, unknown>

export interface EventsOnlyPod {
  pod: Json
  events: unknown[]
}

/** Evidence lines that quote the rebuilt pod, not the input: dropped for events-only pods. */
export const EVENTS_ONLY_EVIDENCE = /^(status|spec|metadata)[.[]/

interface ContainerFacts {
  name: string
  init: boolean
  image?: string
  reason?: string
  message?: string
  running?: boolean
}

/** Container names from field paths and the kubelet's messages. */
function containerOf(e: EventView): { name: string; init: boolean } | undefined {
  const fp = /^spec\.(initContainers|containers|ephemeralContainers)\{([^}]+)\}/.exec(e.object.fieldPath ?? '')
  if (fp?.[2]) return { name: fp[2], init: fp[1] === 'initContainers' }
  const m =
    /^(?:Created|Started|Stopping|Killing) container:? ([a-z0-9]([-a-z0-9]*[a-z0-9])?)\b/.exec(e.message) ??
    /restarting failed container:? ([a-z0-9]([-a-z0-9]*[a-z0-9])?)\b/.exec(e.message) ??
    /[Cc]ontainer ([a-z0-9]([-a-z0-9]*[a-z0-9])?) failed (?:liveness|startup) probe/.exec(e.message)
  return m?.[1] ? { name: m[1], init: false } : undefined
}

/** The waiting reason an event implies for its container, newest event first. */
function impliedState(e: EventView): Pick<ContainerFacts, 'reason' | 'message' | 'running'> | undefined {
  const msg = e.message
  const err = /^Error: (\w+)$/.exec(msg.trim())?.[1]
  if (err === 'ErrImagePull' || err === 'ImagePullBackOff') return { reason: err }
  if (e.reason === 'BackOff' && /Back-off pulling image/i.test(msg)) return { reason: 'ImagePullBackOff' }
  if (e.reason === 'Failed' && /Failed to pull image|failed to pull and unpack/i.test(msg)) return { reason: 'ErrImagePull', message: msg }
  if (e.reason === 'InspectFailed' || /InvalidImageName|invalid reference format/.test(msg)) return { reason: 'InvalidImageName', message: msg }
  if (e.reason === 'ErrImageNeverPull' || /is not present with pull policy of Never/.test(msg)) return { reason: 'ErrImageNeverPull', message: msg }
  if (e.reason === 'Failed' && parseMissingConfig(msg) !== undefined) return { reason: 'CreateContainerConfigError', message: msg.replace(/^Error: /, '') }
  if (e.reason === 'Failed' && classifyStartMessage(msg) !== undefined) return { reason: 'RunContainerError', message: msg.replace(/^Error: /, '') }
  if (e.reason === 'BackOff' && /restarting failed container/i.test(msg)) return { reason: 'CrashLoopBackOff' }
  if (e.reason === 'Unhealthy' && /^Readiness probe/i.test(msg)) return { running: true }
  if (e.reason === 'Started') return { running: true }
  return undefined
}

function imageOf(e: EventView): string | undefined {
  return /image "([^"]+)"/i.exec(e.message)?.[1]
}

/** Groups events by the pod they are about and rebuilds each pod. Linear in the events. */
export function podsFromEvents(values: readonly unknown[]): EventsOnlyPod[] {
  const byPod = new Map<string, { name: string; namespace?: string; views: EventView[]; raw: unknown[] }>()
  const others: unknown[] = []
  for (const v of values) {
    const e = readEvent(v)
    if (e === undefined) continue
    if ((e.object.kind ?? 'Pod') !== 'Pod' || e.object.name === undefined) {
      others.push(v)
      continue
    }
    const key = `${e.object.namespace ?? ''}/${e.object.name}`
    const group = byPod.get(key) ?? { name: e.object.name, views: [], raw: [], ...(e.object.namespace ? { namespace: e.object.namespace } : {}) }
    group.views.push(e)
    group.raw.push(v)
    byPod.set(key, group)
  }
  const out: EventsOnlyPod[] = []
  for (const g of byPod.values()) {
    const views = [...g.views].sort(byRecency)
    const containers = new Map<string, ContainerFacts>()
    const facts = (name: string, init: boolean): ContainerFacts => {
      const f = containers.get(name) ?? { name, init }
      containers.set(name, f)
      return f
    }
    // Oldest first, so that the newest event decides a container's state.
    for (const e of [...views].reverse()) {
      const who = containerOf(e)
      const image = imageOf(e)
      const only = containers.size === 1 ? [...containers.values()][0] : undefined
      const f = who ? facts(who.name, who.init) : only
      if (f === undefined) continue
      if (image && f.image === undefined) f.image = image
      const state = impliedState(e)
      if (state === undefined) continue
      if (state.reason !== undefined) {
        f.reason = state.reason
        f.running = false
        if (state.message !== undefined) f.message = state.message
        else delete f.message
      } else if (state.running && f.reason !== 'CrashLoopBackOff') f.running = true
    }
    // Image events of a single unnamed container: the pull failed before any container event named it.
    if (containers.size === 0) {
      const pull = views.find((e) => impliedState(e)?.reason !== undefined)
      if (pull !== undefined) {
        const f = facts('CONTAINER', false)
        const image = views.map(imageOf).find((i) => i !== undefined)
        if (image) f.image = image
        const state = impliedState(pull)
        if (state?.reason) f.reason = state.reason
        if (state?.message) f.message = state.message
      }
    }
    const spec: Json = { containers: [], initContainers: [] }
    const status: Json = { containerStatuses: [], initContainerStatuses: [] }
    for (const f of containers.values()) {
      const state: Json = f.reason ? { waiting: { reason: f.reason, ...(f.message ? { message: f.message } : {}) } } : f.running ? { running: {} } : { waiting: { reason: 'ContainerCreating' } }
      ;(spec[f.init ? 'initContainers' : 'containers'] as Json[]).push({ name: f.name, image: f.image ?? '' })
      ;(status[f.init ? 'initContainerStatuses' : 'containerStatuses'] as Json[]).push({ name: f.name, image: f.image ?? '', ready: false, restartCount: 0, state, lastState: {} })
    }
    if ((spec['containers'] as Json[]).length === 0) {
      spec['containers'] = [{ name: 'CONTAINER', image: '' }]
      status['containerStatuses'] = []
    }
    // The node: from the scheduler's message, else the host of a kubelet's event (only the pod's node's kubelet reports on it).
    const node =
      views.map((e) => /Successfully assigned \S+ to (\S+)/.exec(e.message)?.[1]).find((n) => n !== undefined) ??
      g.raw.map((r) => (r as { source?: { component?: unknown; host?: unknown } }).source).find((s) => s?.component === 'kubelet' && typeof s.host === 'string' && s.host !== '')?.host
    if (node) spec['nodeName'] = node
    const scheduling = views.find((e) => e.reason === 'FailedScheduling')
    const scheduled = views.some((e) => e.reason === 'Scheduled')
    const evicted = views.find((e) => e.reason === 'Evicted')
    if (evicted) Object.assign(status, { phase: 'Failed', reason: 'Evicted', message: evicted.message })
    else if (scheduling && !scheduled) Object.assign(status, { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: scheduling.message }] })
    else status['phase'] = [...containers.values()].some((f) => f.running) ? 'Running' : 'Pending'
    const pod: Json = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: g.name, namespace: g.namespace ?? 'NAMESPACE' },
      spec,
      status,
    }
    out.push({ pod, events: [...g.raw, ...others] })
  }
  return out
}

/** True when a pull message, start error or missing config explains something (used to decide if events say anything). */
export function eventsExplainSomething(values: readonly unknown[]): boolean {
  return values.some((v) => {
    const e = readEvent(v)
    return e !== undefined && e.type === 'Warning' && (classifyPullMessage(e.message) !== undefined || impliedState(e) !== undefined || ['FailedScheduling', 'FailedMount', 'Evicted', 'Unhealthy', 'NodeNotReady'].includes(e.reason))
  })
}
