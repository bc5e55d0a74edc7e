import { date, get, int, rec, str } from './narrow.js'
import type { PodView } from './pod.js'

/** An event, core/v1 or events.k8s.io/v1, in one shape. */
export interface EventView {
  type: string
  reason: string
  message: string
  count: number
  first?: Date
  last?: Date
  from?: string
  object: { kind?: string; name?: string; namespace?: string; uid?: string; fieldPath?: string }
}

/** The reason of the events the companion records; the analyzer never reads its own output. */
export const DIAGNOSIS_EVENT_REASON = 'PreflightDiagnosis'

/** Reads a core/v1 Event or an events.k8s.io/v1 Event; anything else gives undefined. */
export function readEvent(value: unknown): EventView | undefined {
  const o = rec(value)
  if (o === undefined) return undefined
  const kind = str(o['kind'])
  if (kind !== undefined && kind !== 'Event') return undefined
  const apiVersion = str(o['apiVersion']) ?? ''
  const modern = apiVersion.startsWith('events.k8s.io/') || (o['regarding'] !== undefined && o['involvedObject'] === undefined)
  const ref = rec(modern ? o['regarding'] : o['involvedObject'])
  if (ref === undefined) return undefined
  const reason = str(o['reason']) ?? ''
  const message = str(modern ? o['note'] : o['message']) ?? str(o['message']) ?? ''
  const series = rec(o['series'])
  const count = int(series?.['count']) ?? int(modern ? o['deprecatedCount'] : o['count']) ?? 1
  const first = date(modern ? o['deprecatedFirstTimestamp'] : o['firstTimestamp']) ?? date(o['eventTime'])
  const last = date(series?.['lastObservedTime']) ?? date(modern ? o['deprecatedLastTimestamp'] : o['lastTimestamp']) ?? date(o['eventTime']) ?? first
  const from = str(o['reportingController']) || str(o['reportingComponent']) || str(get(o, 'source', 'component')) || str(get(o, 'deprecatedSource', 'component'))
  const view: EventView = {
    type: str(o['type']) ?? 'Normal',
    reason,
    message,
    count: Math.max(1, count),
    object: {},
  }
  if (first) view.first = first
  if (last) view.last = last
  if (from) view.from = from
  for (const k of ['kind', 'name', 'namespace', 'uid', 'fieldPath'] as const) {
    const v = str(ref[k])
    if (v) view.object[k] = v
  }
  return view
}

/** True when the event is about this pod (by uid when both have one, else kind, name and namespace). */
export function isAboutPod(ev: EventView, pod: PodView): boolean {
  if (ev.object.kind !== undefined && ev.object.kind !== 'Pod') return false
  if (ev.object.uid && pod.uid) return ev.object.uid === pod.uid
  if (ev.object.name !== pod.name) return false
  return ev.object.namespace === undefined || ev.object.namespace === pod.namespace
}

export function isAboutObject(ev: EventView, kind: string, name: string, namespace: string, uid?: string): boolean {
  if (ev.object.uid && uid) return ev.object.uid === uid
  return ev.object.kind === kind && ev.object.name === name && (ev.object.namespace === undefined || ev.object.namespace === namespace)
}

/** The container an event is about: its field path, else a name or image in its message. */
export function eventContainer(ev: EventView, pod: PodView): string | undefined {
  const fp = ev.object.fieldPath
  if (fp) {
    const m = /^spec\.(?:initContainers|containers|ephemeralContainers)\{([^}]+)\}/.exec(fp)
    if (m?.[1]) return m[1]
  }
  const names = pod.containers.map((c) => c.name)
  const msg = ev.message
  const byName = /\b[Cc]ontainer (?:"([^"]+)"|([a-z0-9]([-a-z0-9.]*[a-z0-9])?))/.exec(msg)
  const named = byName?.[1] ?? byName?.[2]
  if (named && names.includes(named)) return named
  const restarting = /failed container=([^\s]+)/.exec(msg)
  if (restarting?.[1] && names.includes(restarting[1])) return restarting[1]
  const image = /image "([^"]+)"/i.exec(msg)?.[1]
  if (image) {
    const matches = pod.containers.filter((c) => c.image === image || imageWithoutRegistry(c.image) === imageWithoutRegistry(image))
    if (matches.length === 1 && matches[0]) return matches[0].name
  }
  return undefined
}

function imageWithoutRegistry(image: string): string {
  return image.replace(/^docker\.io\/(library\/)?/, '')
}

export function describeEvent(ev: EventView): string {
  const count = ev.count > 1 ? ` (x${ev.count})` : ''
  return `event ${ev.reason}${count}: ${ev.message}`
}

/** Newest first, by last time seen. */
export function byRecency(a: EventView, b: EventView): number {
  return (b.last?.getTime() ?? 0) - (a.last?.getTime() ?? 0)
}
