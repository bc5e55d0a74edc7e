import { defineRule, NO_PARAMS, type RuleFinding } from '../engine/rule.js'
import { PROBE_KINDS, probeTiming } from '../engine/probe.js'

export const rule = defineRule({
  id: 'probe-timeout-exceeds-period',
  title: 'Probe timeout is longer than its period',
  defaultAction: 'warn',
  scope: ['static'],
  params: NO_PARAMS,
  docs: {
    summary: 'A probe may wait longer for an answer than the time between two checks.',
    description:
      'Reports liveness, readiness and startup probes whose timeoutSeconds is greater than periodSeconds after the ' +
      'defaults are applied (timeoutSeconds 1, periodSeconds 10), e.g. timeoutSeconds: 15 with the default period.',
    failure:
      'The kubelet does not start a check while the previous one is still waiting, so a slow answer holds the probe past ' +
      'its next tick: checks run back to back against an endpoint that is already slow, and a hung app is declared ' +
      'failed (not Ready, or killed with exit 137) only after failureThreshold × timeoutSeconds, later than the ' +
      'configured periodSeconds × failureThreshold. The timeout usually hides an endpoint that is too slow to be a probe.',
    fix: 'Keep timeoutSeconds at or below periodSeconds: lower the timeout, or check less often.',
  },
  check(pod) {
    const findings: RuleFinding[] = []
    for (const c of pod.containers) {
      for (const kind of PROBE_KINDS) {
        const probe = c.spec[kind]
        if (probe === undefined) continue
        const t = probeTiming(probe)
        if (t.timeoutSeconds <= t.periodSeconds) continue
        findings.push({
          path: `${c.path}.${kind}.timeoutSeconds`,
          container: c.name,
          message:
            `container "${c.name}": ${kind} waits up to ${t.timeoutSeconds} s for an answer but is meant to run every ${t.periodSeconds} s` +
            `${probe.periodSeconds === undefined ? ' (the default)' : ''}: slow checks run back to back, and a hung app is declared ` +
            `failed only after ${t.failureThreshold * t.timeoutSeconds} s instead of ${t.failureThreshold * t.periodSeconds} s`,
          fix: `set ${kind}.timeoutSeconds to at most periodSeconds (${t.periodSeconds}), or raise periodSeconds to at least ${t.timeoutSeconds}`,
        })
      }
    }
    return findings
  },
})
