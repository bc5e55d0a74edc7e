import { defineRule, type RuleFinding } from '../engine/rule.js'
import { probeTiming, startWindowSeconds } from '../engine/probe.js'
import { jvmEvidence } from '../engine/heap.js'

interface Params {
  startSeconds: number
  jvmStartSeconds: number
}

export const rule = defineRule<Params>({
  id: 'probe-liveness-startup-window-short',
  title: 'Liveness probe may kill the container before it has started',
  defaultAction: 'warn',
  scope: ['static'],
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      startSeconds: {
        type: 'integer',
        minimum: 1,
        default: 30,
        description: 'Expected start time of a container, in seconds.',
      },
      jvmStartSeconds: {
        type: 'integer',
        minimum: 1,
        default: 60,
        description: 'Expected start time of a JVM container (a JVM image, or JVM flags in command, args or the JVM option variables), in seconds.',
      },
    },
  },
  docs: {
    summary: 'Without a startupProbe, the liveness probe must leave the application time to start.',
    description:
      'For containers with a livenessProbe and no startupProbe, compares the time the liveness probe allows before ' +
      'its first kill, initialDelaySeconds + periodSeconds × failureThreshold after defaults, with the expected start ' +
      'time: startSeconds (30 s) in general, jvmStartSeconds (60 s) for JVM images or containers with JVM flags. ' +
      'The default liveness probe (0 + 10 s × 3 = 30 s) is therefore fine for most containers but short for a JVM. ' +
      'A container with a startupProbe is never reported: liveness checks wait until it succeeds.',
    failure:
      'The liveness checks fail while the application is still starting, so the kubelet kills it (exit 137, or 143) ' +
      'before it ever serves; each restart starts from scratch and the pod ends in CrashLoopBackOff.',
    fix:
      'Add a startupProbe running the same check with failureThreshold × periodSeconds covering the slowest start ' +
      '(e.g. periodSeconds: 5, failureThreshold: 24 for two minutes), or raise livenessProbe.initialDelaySeconds.',
  },
  check(pod, ctx) {
    const findings: RuleFinding[] = []
    for (const c of pod.containers) {
      const probe = c.spec.livenessProbe
      if (probe === undefined || c.spec.startupProbe !== undefined) continue
      const t = probeTiming(probe)
      const window = startWindowSeconds(t)
      // The JVM analysis reads command, args and env: only do it when the answer matters.
      if (window >= Math.max(ctx.params.startSeconds, ctx.params.jvmStartSeconds)) continue
      const jvm = jvmEvidence(c)
      const expected = jvm !== undefined ? ctx.params.jvmStartSeconds : ctx.params.startSeconds
      if (window >= expected) continue
      const who = jvm !== undefined ? `a JVM application (${jvm})` : 'an application'
      findings.push({
        path: `${c.path}.livenessProbe`,
        container: c.name,
        message:
          `container "${c.name}" has no startupProbe and its livenessProbe kills after ${window} s ` +
          `(${t.initialDelaySeconds} + ${t.failureThreshold} × ${t.periodSeconds} s), under the ${expected} s expected for ${who}: ` +
          'it is killed (exit 137) before it has started, again and again: CrashLoopBackOff',
        fix:
          `add a startupProbe to container "${c.name}" with the same check and periodSeconds × failureThreshold of at least ${expected} s ` +
          `(e.g. periodSeconds: 5, failureThreshold: ${Math.ceil(expected / 5)}), or raise livenessProbe.initialDelaySeconds to ${expected - t.periodSeconds * t.failureThreshold} or more`,
      })
    }
    return findings
  },
})
