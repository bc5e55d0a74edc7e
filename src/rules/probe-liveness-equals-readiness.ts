import { defineRule, type RuleFinding } from '../engine/rule.js'
import { describeHandler, failureWindowSeconds, probeHandler, handlerKey, probeTiming, sameTiming } from '../engine/probe.js'

interface Params {
  requireSameTiming: boolean
}

export const rule = defineRule<Params>({
  id: 'probe-liveness-equals-readiness',
  title: 'Liveness and readiness probes run the same check',
  defaultAction: 'warn',
  scope: ['static'],
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      requireSameTiming: {
        type: 'boolean',
        default: false,
        description:
          'Report only probes that also share every timing field after defaults. By default the same check with ' +
          'different timing is reported too: an overloaded app still fails both.',
      },
    },
  },
  docs: {
    summary: 'A liveness probe that repeats the readiness check restarts pods that are only overloaded.',
    description:
      'Compares the livenessProbe and readinessProbe of each container after the API server defaults are applied ' +
      '(scheme HTTP, path /, named ports resolved to the container port). When both run the same check (same HTTP ' +
      'request, TCP port, gRPC service or exec command) the rule reports it, whatever the timing: a longer liveness ' +
      'window only delays the restart. Set requireSameTiming to report only probes that are identical in every field.',
    failure:
      'Under load the readiness check fails, which is what it is for: the pod leaves the Service endpoints. But the ' +
      'liveness check fails too, so the kubelet kills the container (exit 137) instead of letting it recover; the ' +
      'traffic moves to the other replicas, they fail the same way, and the restarts cascade into CrashLoopBackOff.',
    fix:
      'Make the liveness check answer only "is the process stuck?" (a cheap endpoint that does not depend on load or ' +
      'downstream services), keep the dependency-aware check for readiness, or drop the liveness probe.',
  },
  check(pod, ctx) {
    const findings: RuleFinding[] = []
    for (const c of pod.containers) {
      const live = c.spec.livenessProbe
      const ready = c.spec.readinessProbe
      if (live === undefined || ready === undefined) continue
      const h = probeHandler(live, c.spec)
      const hr = probeHandler(ready, c.spec)
      if (h === undefined || hr === undefined || handlerKey(h) !== handlerKey(hr)) continue
      const identical = sameTiming(live, ready)
      if (!identical && ctx.params.requireSameTiming) continue
      const lw = failureWindowSeconds(probeTiming(live))
      const rw = failureWindowSeconds(probeTiming(ready))
      const what = identical
        ? `livenessProbe and readinessProbe are identical (${describeHandler(h)})`
        : `livenessProbe runs the same check as readinessProbe (${describeHandler(h)}), only slower to fail (${lw} s vs ${rw} s)`
      findings.push({
        path: `${c.path}.livenessProbe`,
        container: c.name,
        message:
          `container "${c.name}": ${what}: an overloaded app fails both and is restarted (exit 137) instead of just ` +
          'leaving the Service, pushing its load onto the other replicas',
        fix: 'point livenessProbe at a cheap check that only fails when the process is stuck (no downstream calls), keep the dependency-aware check in readinessProbe, or remove livenessProbe',
      })
    }
    return findings
  },
})
