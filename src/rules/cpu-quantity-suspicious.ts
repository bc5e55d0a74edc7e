import { defineRule, type RuleFinding } from '../engine/rule.js'
import { Quantity, formatCpu } from '../engine/quantity.js'
import { parseResource } from '../engine/heap.js'

interface Params {
  maxCores: number
}

export const rule = defineRule<Params>({
  id: 'cpu-quantity-suspicious',
  title: 'CPU request or limit is more cores than any node has',
  defaultAction: 'warn',
  scope: ['static'],
  params: {
    type: 'object',
    properties: {
      maxCores: {
        type: 'integer',
        minimum: 1,
        default: 128,
        description: 'The largest plausible number of cores on one node; a CPU request or limit above it is taken for a unit mistake.',
      },
    },
    additionalProperties: false,
  },
  docs: {
    summary: 'A CPU value above the largest plausible core count (cpu: 500 meant as 500m) is a unit mistake.',
    description:
      'CPU is counted in cores: cpu: 500 asks for five hundred cores, while 500m (milli-cores) is half a core. ' +
      'A request or limit above maxCores (128 by default) is reported. A limit above it with a sensible request does not block scheduling, ' +
      'but is still almost certainly a typo; without a request, the request defaults to the limit.',
    failure:
      'No node can hold the request, so the pod stays Pending forever with FailedScheduling "Insufficient cpu" (and a Deployment rollout never completes).',
    fix: 'Write milli-cores with the m suffix (500m = half a core), or whole cores as a small number (2, 0.5).',
  },
  check(pod, ctx) {
    const max = Quantity.fromInteger(Math.floor(ctx.params.maxCores))
    const findings: RuleFinding[] = []
    for (const c of pod.containers) {
      if (c.kind === 'ephemeralContainer') continue
      const res = c.spec.resources
      const request = res?.requests?.['cpu']
      for (const kind of ['requests', 'limits'] as const) {
        const raw = res?.[kind]?.['cpu']
        if (raw === undefined) continue
        const q = parseResource(raw)
        if (q === undefined || !q.gt(max)) continue
        const plain = q.suffix === '' && /^\d+$/.test(String(raw))
        const meant = plain ? `; ${String(raw)}m (${q.toNumber() / 1000} cores) was probably meant` : ''
        const effect =
          kind === 'requests' || request === undefined
            ? `no node has that many, so the pod stays Pending with "Insufficient cpu"`
            : 'no node has that many cores, so the limit means nothing'
        findings.push({
          path: `${c.path}.resources.${kind}.cpu`,
          container: c.name,
          message: `container "${c.name}": ${kind}.cpu is ${JSON.stringify(String(raw))}, i.e. ${formatCpu(q)} cores, above the ${ctx.params.maxCores} cores a node plausibly has${meant}; ${effect}`,
          fix: plain
            ? `write ${String(raw)}m for ${q.toNumber() / 1000} cores (m = thousandths of a core), or the number of whole cores the container needs`
            : `set ${kind}.cpu to the cores the container needs, e.g. 500m or 2`,
        })
      }
    }
    return findings
  },
})
