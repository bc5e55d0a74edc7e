import { FAILURE_WAITING_REASONS } from './container.js'
import { DIAGNOSIS_EVENT_REASON, readEvent } from './events.js'
import { normalizeExitCode } from './exit-codes.js'
import { condition, controllerOf, type ContainerView, type PodView } from './pod.js'
import type { Diagnosis } from './types.js'

/**
 * The companion's decisions, as pure functions: when a pod is worth analysing, and which of
 * its diagnoses are new. Kept apart from the informer so they can be tested without a cluster.
 */

/** Per key (a container name, or '' for the pod): the causes of the current failure streak. */
export interface FailureTrack {
  streaks: Map<string, { causes: Set<string>; since: number }>
}

export function emptyTrack(): FailureTrack {
  return { streaks: new Map() }
}

const LONG_RUNNING_OWNERS = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'ReplicationController'])

function longRunning(pod: PodView, c: ContainerView): boolean {
  if (c.kind === 'init') return c.restartPolicy === 'Always'
  const owner = controllerOf(pod)?.kind
  if (owner === 'Job') return false
  if (owner !== undefined && LONG_RUNNING_OWNERS.has(owner)) return true
  return (pod.restartPolicy ?? 'Always') === 'Always'
}

function abnormal(pod: PodView, c: ContainerView, code: number, reason: string | undefined): boolean {
  return reason === 'OOMKilled' || normalizeExitCode(code) !== 0 || longRunning(pod, c)
}

/**
 * A fingerprint of everything failure-related in the pod status, or undefined when nothing is
 * failing: a container that terminated abnormally (or restarted after doing so), a container
 * waiting for a failure reason, an evicted or unschedulable pod. The companion analyses a pod
 * only when this changes, so steady pods cost no API calls.
 */
export function failureTrigger(pod: PodView): string | undefined {
  const parts: string[] = []
  for (const c of pod.containers) {
    const s = c.status
    if (s === undefined || c.kind === 'ephemeral') continue
    const w = s.state.waiting?.reason
    const t = s.state.terminated
    const last = s.lastState.terminated
    if (w !== undefined && FAILURE_WAITING_REASONS.has(w)) {
      parts.push(w === 'CrashLoopBackOff' && last ? `${c.name}:last:${last.exitCode}:${last.reason ?? ''}:${s.restartCount}` : `${c.name}:waiting:${w}`)
    } else if (t !== undefined && (c.kind !== 'init' || normalizeExitCode(t.exitCode) !== 0) && abnormal(pod, c, t.exitCode, t.reason)) {
      parts.push(`${c.name}:terminated:${t.exitCode}:${t.reason ?? ''}`)
    } else if (last !== undefined && s.restartCount > 0 && abnormal(pod, c, last.exitCode, last.reason)) {
      parts.push(`${c.name}:last:${last.exitCode}:${last.reason ?? ''}:${s.restartCount}`)
    }
  }
  if (pod.reason === 'Evicted') parts.push('pod:evicted')
  const scheduled = condition(pod, 'PodScheduled')
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') parts.push('pod:unschedulable')
  return parts.length > 0 ? parts.join('|') : undefined
}

/** The restart generation of a diagnosis: the restart count of its container (0 for the pod). */
function generation(pod: PodView, d: Diagnosis): number {
  if (d.container === undefined) return 0
  return pod.containers.find((c) => c.name === d.container)?.status?.restartCount ?? 0
}

export function failureKey(pod: PodView, d: Diagnosis, since: number): string {
  return `${pod.uid ?? `${pod.namespace}/${pod.name}`}/${d.container ?? ''}/${d.cause}/${since}`
}

/** Causes that are not failures and are never recorded. */
const NOT_REPORTED = new Set(['completed'])

/**
 * A catch-all cause is what the analyzer falls back to when the telling message is gone (an
 * ImagePullBackOff whose kubelet events expired or were never read): it never replaces the
 * specific cause already recorded for the same failure.
 */
const GENERIC_OF: Record<string, readonly string[]> = {
  'image-pull-failed': ['image-not-found', 'image-pull-unauthorized'],
}

/**
 * Which diagnoses to record: per container, a cause is recorded when it starts a streak; the same
 * cause again in the restart loop that follows is not; a different cause starts a new streak.
 * `seed` holds the cause last recorded per key by an earlier run (from its events), so a restart
 * of the companion does not repeat them.
 */
export function decideReports(
  track: FailureTrack,
  diagnoses: readonly Diagnosis[],
  pod: PodView,
  seed?: ReadonlyMap<string, string>,
): { report: { diagnosis: Diagnosis; key: string }[]; next: FailureTrack } {
  const next: FailureTrack = { streaks: new Map(track.streaks) }
  const byKey = new Map<string, Diagnosis[]>()
  for (const d of diagnoses) {
    if (NOT_REPORTED.has(d.cause)) continue
    const k = d.container ?? ''
    byKey.set(k, [...(byKey.get(k) ?? []), d])
  }
  const report: { diagnosis: Diagnosis; key: string }[] = []
  for (const [k, list] of byKey) {
    const causes = new Set(list.map((d) => d.cause))
    let prev = next.streaks.get(k)
    const seeded = seed?.get(k)
    if (prev === undefined && seeded !== undefined) prev = { causes: new Set([seeded]), since: 0 }
    const known = (cause: string): boolean =>
      prev !== undefined && (prev.causes.has(cause) || (GENERIC_OF[cause] ?? []).some((specific) => prev?.causes.has(specific)))
    const fresh = list.filter((d) => !known(d.cause))
    if (fresh.length === 0) {
      if (prev !== undefined && !next.streaks.has(k)) next.streaks.set(k, prev)
      continue
    }
    const since = Math.max(...fresh.map((d) => generation(pod, d)))
    next.streaks.set(k, { causes, since })
    for (const d of fresh) report.push({ diagnosis: d, key: failureKey(pod, d, since) })
  }
  return { report, next }
}

/** The cause each container (or '' for the pod) was last recorded with, read from existing events. */
export function seedFromEvents(events: readonly unknown[]): Map<string, string> {
  const latest = new Map<string, { cause: string; at: number }>()
  for (const raw of events) {
    const e = readEvent(raw)
    if (e === undefined || e.reason !== DIAGNOSIS_EVENT_REASON) continue
    const cause = /^\[([a-z0-9-]+)\]/.exec(e.message)?.[1]
    if (cause === undefined) continue
    const container = /\{([^}]+)\}/.exec(e.object.fieldPath ?? '')?.[1] ?? ''
    const at = e.last?.getTime() ?? 0
    const prev = latest.get(container)
    if (prev === undefined || at >= prev.at) latest.set(container, { cause, at })
  }
  return new Map([...latest].map(([k, v]) => [k, v.cause]))
}

/** The event message: the cause id in brackets, then the summary, within the API's 1 KiB limit. */
export function eventMessage(d: Diagnosis): string {
  const text = `[${d.cause}] ${d.summary}`
  return text.length <= 1024 ? text : `${text.slice(0, 1021)}...`
}

export function fieldPathOf(pod: PodView, container: string | undefined): string | undefined {
  if (container === undefined) return undefined
  const c = pod.containers.find((x) => x.name === container)
  if (c === undefined) return undefined
  const field = c.kind === 'init' ? 'initContainers' : c.kind === 'ephemeral' ? 'ephemeralContainers' : 'containers'
  return `spec.${field}{${container}}`
}
