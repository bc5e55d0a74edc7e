import { analyzeContainer } from './container.js'
import { makeContext } from './context.js'
import { analyzePodLevel } from './pod-level.js'
import { readPod } from './pod.js'
import type { Analysis, AnalyzerInput, Diagnosis } from './types.js'

/** Causes that, in an evicted pod, only restate the eviction. */
const EVICTION_ECHOES = new Set(['killed', 'terminated', 'grace-period-exceeded'])

/**
 * Explains a pod: one diagnosis per failing container and one for the pod where the pod itself
 * is the problem. Pure: the same input and `now` always give the same result.
 */
export function analyze(input: AnalyzerInput): Analysis {
  const read = readPod(input.pod)
  if (!read.ok) return read
  const pod = read.pod
  const ctx = makeContext(pod, input)
  const { before, skipContainers } = analyzePodLevel(ctx)
  // SIGTERM exits are the expected effect of a deletion or a deadline, not a failure of their own.
  const stopRequested = pod.deletionTimestamp !== undefined || before.some((d) => d.cause === 'deadline-exceeded')
  const diagnoses: Diagnosis[] = [...before]
  const seen = new Set(diagnoses.map((d) => `${d.container ?? ''}\u0000${d.cause}`))
  for (const c of pod.containers) {
    // Regular init containers were judged in sequence by the pod-level pass.
    if (c.kind === 'init' && c.restartPolicy !== 'Always') continue
    for (const d of analyzeContainer(ctx, c)) {
      if (skipContainers && EVICTION_ECHOES.has(d.cause)) continue
      if (stopRequested && d.cause === 'terminated') continue
      const key = `${d.container ?? ''}\u0000${d.cause}`
      if (seen.has(key)) continue
      seen.add(key)
      diagnoses.push(d)
    }
  }
  const terminating = pod.deletionTimestamp !== undefined && pod.phase !== 'Failed' && pod.phase !== 'Succeeded'
  const status = terminating ? 'Terminating' : (pod.phase ?? 'Unknown')
  return { ok: true, pod: { namespace: pod.namespace, name: pod.name }, status, diagnoses }
}

/** True when the diagnoses describe something to fix (not only containers that completed). */
export function isUnhealthy(diagnoses: readonly Diagnosis[]): boolean {
  return diagnoses.some((d) => d.cause !== 'completed')
}
