import { defineRule, type RuleFinding } from '../engine/rule.js'
import { failureWindowSeconds, probeTiming } from '../engine/probe.js'

interface Params {
  windowSeconds: number
}

export const rule = defineRule<Params>({
  id: 'probe-liveness-aggressive',
  title: 'Liveness probe kills too quickly',
  defaultAction: 'warn',
  scope: ['static'],
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      windowSeconds: {
        type: 'integer',
        minimum: 1,
        default: 10,
        description: 'Shortest acceptable liveness failure window (periodSeconds × failureThreshold), in seconds.',
      },
    },
  },
  docs: {
    summary: 'A liveness probe that gives up after a few seconds restarts containers that are only busy.',
    description:
      'Reports liveness probes whose failure window, periodSeconds × failureThreshold after defaults, is shorter than ' +
      'windowSeconds (10 s by default), and probes that kill after a single check allowed only 1 s to answer ' +
      '(timeoutSeconds 1 with failureThreshold 1). The defaults (every 10 s, 3 failures, 30 s) are not reported.',
    failure:
      'A garbage-collection pause, a slow dependency or a burst of traffic makes the check miss its deadline; the kubelet ' +
      'kills the healthy container (exit 137, or 143 when it stops on SIGTERM), and under sustained load the restarts ' +
      'turn into CrashLoopBackOff, which moves the load onto the remaining replicas.',
    fix: 'Keep periodSeconds × failureThreshold at 10 s or more (the defaults give 30 s) and give each check a few seconds of timeoutSeconds.',
  },
  check(pod, ctx) {
    const findings: RuleFinding[] = []
    for (const c of pod.containers) {
      const probe = c.spec.livenessProbe
      if (probe === undefined) continue
      const t = probeTiming(probe)
      const window = failureWindowSeconds(t)
      const base = `${c.path}.livenessProbe`
      if (window < ctx.params.windowSeconds) {
        const field = probe.periodSeconds !== undefined ? 'periodSeconds' : probe.failureThreshold !== undefined ? 'failureThreshold' : undefined
        findings.push({
          path: field === undefined ? base : `${base}.${field}`,
          container: c.name,
          message:
            `container "${c.name}": livenessProbe gives up after ${window} s (${t.failureThreshold} × ${t.periodSeconds} s), under ` +
            `${ctx.params.windowSeconds} s: a GC pause or load spike gets the healthy container killed (exit 137), then CrashLoopBackOff`,
          fix: `raise livenessProbe.periodSeconds or failureThreshold so that periodSeconds × failureThreshold is at least ${ctx.params.windowSeconds} s (the defaults, 10 s × 3, give 30 s)`,
        })
      } else if (t.timeoutSeconds === 1 && t.failureThreshold === 1) {
        findings.push({
          path: `${base}.failureThreshold`,
          container: c.name,
          message:
            `container "${c.name}": livenessProbe allows 1 s per check (timeoutSeconds${probe.timeoutSeconds === undefined ? ' default' : ''}) and ` +
            'kills after one failure (failureThreshold 1): a single slow answer restarts the container (exit 137)',
          fix: 'set livenessProbe.failureThreshold to 3 (the default) and timeoutSeconds to a few seconds, so one slow answer is not fatal',
        })
      }
    }
    return findings
  },
})
