import { hostname } from 'node:os'
import { CoreV1Api, makeInformer, type CoreV1Event, type KubeConfig, type V1Pod } from '@kubernetes/client-node'
import { analyze } from './analyze.js'
import { readFailedLogs } from './cluster-source.js'
import { withLog } from './log-signatures.js'
import type { CauseId } from './causes.js'
import {
  decideReports,
  emptyTrack,
  eventMessage,
  failureTrigger,
  fieldPathOf,
  seedFromEvents,
  type FailureTrack,
} from './companion-logic.js'
import { DIAGNOSIS_EVENT_REASON } from './events.js'
import { readPod, type PodView } from './pod.js'
import type { Diagnosis, PodRef } from './types.js'

/**
 * The in-cluster companion: watches pods, and when one fails, records the diagnosis as a
 * Warning event `PreflightDiagnosis` on that pod, once per distinct failure, so that
 * `kubectl describe pod` shows the explanation next to the kubelet's own events.
 *
 * RBAC it needs: pods list/watch; events get/list/create/patch; with readLogs, pods/log get.
 */

export interface CompanionLogger {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

export interface CompanionOptions {
  kubeConfig: KubeConfig
  /** Watch one namespace; all namespaces when absent. */
  namespace?: string
  logger: CompanionLogger
  /** Called for every diagnosis recorded as an event. */
  onDiagnosis?: (cause: CauseId, detail: { pod: PodRef; container?: string; summary: string }) => void
  now?: () => Date
  /** Pause before restarting the watch after an error. */
  restartDelayMs?: number
  /** Pods remembered at most; the least recently changed are forgotten first. */
  maxTrackedPods?: number
  /**
   * Also read the failed containers' previous logs (GET pods/log, bounded) and add what their
   * failure signatures show to the diagnosis. Opt-in: it needs `get` on `pods/log`.
   */
  readLogs?: boolean
}

export interface Companion {
  /** Resolves once the first list of pods has been read and the watch is running. */
  ready: Promise<void>
  stop(): Promise<void>
}

export const COMPONENT = 'pod-preflight'
export const FAILURE_KEY_ANNOTATION = 'pod-preflight/failure-key'

interface PodEntry {
  trigger?: string
  track: FailureTrack
  seeded: boolean
  chain: Promise<void>
}

function errorText(err: unknown): { message: string; code?: number } {
  if (typeof err === 'object' && err !== null) {
    const code = (err as { code?: unknown }).code
    const body = (err as { body?: unknown }).body
    let message = err instanceof Error ? err.message.split('\n')[0] ?? err.message : String(err)
    if (typeof body === 'string') {
      try {
        const parsed = JSON.parse(body) as { message?: unknown }
        if (typeof parsed.message === 'string') message = parsed.message
      } catch {
        // a non-JSON body: keep the first line of the error
      }
    } else if (typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string') {
      message = (body as { message: string }).message
    }
    return typeof code === 'number' ? { message, code } : { message }
  }
  return { message: String(err) }
}

export function startCompanion(options: CompanionOptions): Companion {
  const { kubeConfig, namespace, logger } = options
  const now = options.now ?? (() => new Date())
  const restartDelay = options.restartDelayMs ?? 5000
  const maxPods = options.maxTrackedPods ?? 10000
  const core = kubeConfig.makeApiClient(CoreV1Api)
  const path = namespace ? `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods` : '/api/v1/pods'
  const list = namespace ? () => core.listNamespacedPod({ namespace }) : () => core.listPodForAllNamespaces()
  const informer = makeInformer<V1Pod>(kubeConfig, path, list)
  const entries = new Map<string, PodEntry>()
  const inFlight = new Set<Promise<void>>()
  const instance = hostname()
  let stopped = false
  let restartTimer: NodeJS.Timeout | undefined
  let errors = 0

  let resolveReady: () => void = () => undefined
  let rejectReady: (err: Error) => void = () => undefined
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve
    rejectReady = reject
  })
  ready.catch(() => undefined) // a caller that never awaits ready must not see an unhandled rejection

  const touch = (uid: string): PodEntry => {
    let entry = entries.get(uid)
    if (entry !== undefined) entries.delete(uid)
    entry ??= { track: emptyTrack(), seeded: false, chain: Promise.resolve() }
    entries.set(uid, entry)
    while (entries.size > maxPods) {
      const oldest = entries.keys().next().value
      if (oldest === undefined) break
      entries.delete(oldest)
    }
    return entry
  }

  const record = async (pod: PodView, d: Diagnosis, key: string): Promise<void> => {
    const t = now()
    const involved: CoreV1Event['involvedObject'] = { apiVersion: 'v1', kind: 'Pod', name: pod.name, namespace: pod.namespace }
    if (pod.uid) involved.uid = pod.uid
    const fieldPath = fieldPathOf(pod, d.container)
    if (fieldPath) involved.fieldPath = fieldPath
    const body: CoreV1Event = {
      metadata: { generateName: `${pod.name}.preflight-`, namespace: pod.namespace, annotations: { [FAILURE_KEY_ANNOTATION]: key } },
      involvedObject: involved,
      reason: DIAGNOSIS_EVENT_REASON,
      type: 'Warning',
      message: eventMessage(d),
      source: { component: COMPONENT },
      reportingComponent: COMPONENT,
      reportingInstance: instance,
      firstTimestamp: t,
      lastTimestamp: t,
      count: 1,
    }
    await core.createNamespacedEvent({ namespace: pod.namespace, body })
    const ref: { pod: PodRef; container?: string; summary: string } = { pod: { namespace: pod.namespace, name: pod.name }, summary: d.summary }
    if (d.container !== undefined) ref.container = d.container
    logger.info({ namespace: pod.namespace, pod: pod.name, ...(d.container ? { container: d.container } : {}), cause: d.cause }, 'diagnosis recorded')
    options.onDiagnosis?.(d.cause, ref)
  }

  const analyse = async (raw: V1Pod, pod: PodView, entry: PodEntry): Promise<void> => {
    if (stopped) return
    let events: unknown[] = []
    try {
      const selector = pod.uid ? `involvedObject.uid=${pod.uid}` : `involvedObject.name=${pod.name}`
      events = (await core.listNamespacedEvent({ namespace: pod.namespace, fieldSelector: selector })).items
    } catch (err) {
      logger.warn({ namespace: pod.namespace, pod: pod.name, err: errorText(err) }, 'cannot list the events of a pod; analysing without them')
    }
    const podObject = { ...raw, kind: 'Pod', apiVersion: 'v1' }
    const result = analyze({ pod: podObject, events, now: now() })
    if (!result.ok) return
    if (options.readLogs === true && result.diagnoses.length > 0) {
      const warn = (message: string): void => logger.warn({ namespace: pod.namespace, pod: pod.name }, message)
      for (const log of await readFailedLogs(core, podObject, warn)) {
        const applied = withLog(podObject, result.diagnoses, log)
        if ('diagnoses' in applied) result.diagnoses = applied.diagnoses
      }
    }
    const seed = entry.seeded ? undefined : seedFromEvents(events)
    entry.seeded = true
    const { report, next } = decideReports(entry.track, result.diagnoses, pod, seed)
    entry.track = next
    for (const { diagnosis, key } of report) {
      if (stopped) return
      try {
        await record(pod, diagnosis, key)
      } catch (err) {
        logger.warn({ namespace: pod.namespace, pod: pod.name, cause: diagnosis.cause, err: errorText(err) }, 'cannot record the diagnosis event')
      }
    }
  }

  const onPod = (raw: V1Pod): void => {
    if (stopped) return
    const read = readPod({ ...raw, kind: 'Pod', apiVersion: 'v1' })
    if (!read.ok) return
    const pod = read.pod
    const uid = pod.uid ?? `${pod.namespace}/${pod.name}`
    const trigger = failureTrigger(pod)
    const existing = entries.get(uid)
    if (trigger === undefined) {
      if (existing) existing.trigger = undefined
      return
    }
    if (existing?.trigger === trigger) return
    const entry = touch(uid)
    entry.trigger = trigger
    const job = entry.chain.then(() => analyse(raw, pod, entry)).catch((err: unknown) => {
      logger.error({ namespace: pod.namespace, pod: pod.name, err: errorText(err) }, 'analysis failed')
    })
    entry.chain = job
    inFlight.add(job)
    void job.finally(() => inFlight.delete(job))
  }

  const onDelete = (raw: V1Pod): void => {
    const uid = raw.metadata?.uid ?? `${raw.metadata?.namespace ?? ''}/${raw.metadata?.name ?? ''}`
    entries.delete(uid)
  }

  const start = async (): Promise<void> => {
    if (stopped) return
    const before = errors
    try {
      await informer.start()
    } catch (err) {
      errors++
      scheduleRestart(err)
      return
    }
    if (errors === before && !stopped) resolveReady()
  }

  const scheduleRestart = (err: unknown): void => {
    if (stopped || restartTimer !== undefined) return
    logger.warn({ err: errorText(err), retryInMs: restartDelay }, 'pod watch failed; restarting after a pause')
    restartTimer = setTimeout(() => {
      restartTimer = undefined
      void start()
    }, restartDelay)
  }

  informer.on('add', onPod)
  informer.on('update', onPod)
  informer.on('delete', onDelete)
  informer.on('error', (err: unknown) => {
    errors++
    scheduleRestart(err)
  })
  void start()

  return {
    ready,
    async stop(): Promise<void> {
      if (stopped) return
      stopped = true
      if (restartTimer !== undefined) clearTimeout(restartTimer)
      restartTimer = undefined
      rejectReady(new Error('the companion was stopped before it was ready'))
      await informer.stop()
      await Promise.allSettled([...inFlight])
      entries.clear()
    },
  }
}
