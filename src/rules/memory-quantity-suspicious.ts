import { defineRule, NO_PARAMS, type RuleFinding } from '../engine/rule.js'
import { Quantity, formatBytes } from '../engine/quantity.js'
import { parseResource } from '../engine/heap.js'

/** Below this no container runtime can start a container (runc needs a few MiB just to start). */
const MINIMUM = Quantity.fromInteger(4n << 20n)
const KIBIBYTE = Quantity.fromInteger(1024)

function amount(q: Quantity): string {
  if (!q.lt(KIBIBYTE)) return formatBytes(q)
  return q.eq(Quantity.fromInteger(1)) ? '1 byte' : `${formatBytes(q)} bytes`
}

export const rule = defineRule({
  id: 'memory-quantity-suspicious',
  title: 'Memory request or limit is a unit mistake',
  defaultAction: 'deny',
  scope: ['static'],
  params: NO_PARAMS,
  docs: {
    summary: 'A memory request or limit written with the milli suffix (512m) or below 4Mi is a unit mistake.',
    description:
      'In a Kubernetes quantity a lower-case m means milli, so memory: 512m is 0.512 bytes, not 512 megabytes (write 512Mi or 512M). ' +
      'A memory value below 4Mi, such as 64 (bytes) or 100Ki, is just as surely a missing or wrong unit. ' +
      'Requests and limits of app and init containers are checked; a value of 0 (no request, no limit) is left alone.',
    failure:
      'With such a limit the container cannot start (the runtime reports that the container init was OOM-killed: StartError / RunContainerError) or is OOMKilled at once (exit 137). ' +
      'With such a request the scheduler reserves nothing for the container, so it lands on nodes without room and is among the first killed or evicted under memory pressure.',
    fix: 'Write memory in binary units (Mi, Gi) or decimal ones with a capital letter (M, G): 512Mi, 1Gi, 512M.',
  },
  check(pod) {
    const findings: RuleFinding[] = []
    for (const c of pod.containers) {
      if (c.kind === 'ephemeralContainer') continue
      for (const kind of ['requests', 'limits'] as const) {
        const raw = c.spec.resources?.[kind]?.['memory']
        if (raw === undefined) continue
        const q = parseResource(raw)
        if (q === undefined || q.n <= 0n) continue
        const path = `${c.path}.resources.${kind}.memory`
        const written = JSON.stringify(String(raw))
        const effect =
          kind === 'limits'
            ? 'no container can run in that little memory: it fails to start (container init OOM-killed) or is OOMKilled at once, exit code 137'
            : 'the scheduler reserves almost nothing for it, so it lands on nodes without room and is among the first OOM-killed or evicted'
        if (q.suffix === 'm') {
          const digits = String(raw).slice(0, -1)
          findings.push({
            path,
            container: c.name,
            message: `container "${c.name}": ${kind}.memory is ${written}, and "m" means milli: that is ${amount(q)}, not ${digits} megabytes; ${effect}`,
            fix: `write ${digits}Mi (mebibytes) or ${digits}M (megabytes) instead of ${String(raw)}`,
          })
        } else if (q.lt(MINIMUM)) {
          const number = /^\d+(\.\d+)?/.exec(String(raw))?.[0]
          const guess = number !== undefined && (q.suffix === '' || q.suffix === 'k' || q.suffix === 'Ki') ? `; ${number}Mi was probably meant` : ''
          findings.push({
            path,
            container: c.name,
            message: `container "${c.name}": ${kind}.memory is ${written}, only ${amount(q)}${guess}; ${effect}`,
            fix: `give the memory with its unit, at least 4Mi and in practice tens of Mi or more (e.g. ${number !== undefined && guess !== '' ? `${number}Mi` : '256Mi'})`,
          })
        }
      }
    }
    return findings
  },
})
