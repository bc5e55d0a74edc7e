import { defineRule, NO_PARAMS } from '../engine/rule.js'
import { schedule, countedReasons, describeRequests, requestField, AUTOSCALER_NOTE } from '../cluster/scheduling.js'
import { formatUnits } from '../cluster/resources.js'

export const rule = defineRule({
  id: 'no-node-fits-requests',
  title: 'No eligible node is big enough for the pod\'s requests',
  defaultAction: 'warn',
  scope: ['cluster'],
  params: NO_PARAMS,
  docs: {
    summary: 'No eligible node\'s allocatable covers the pod\'s effective requests.',
    description:
      'Computes the pod\'s effective requests as the scheduler does: the sum of app containers and native sidecars against ' +
      'the largest init container step, plus spec.overhead, after the namespace\'s LimitRange defaults (and a limit without ' +
      'a request counting as the request). Compares them with the allocatable of every node that passes selector, ' +
      'affinity, taints and readiness: cpu, memory, ephemeral-storage and extended resources such as nvidia.com/gpu. This ' +
      'is about node size, not current load (see no-node-has-free-capacity). It warns because an autoscaler may add a ' +
      'bigger node.',
    failure: 'The pod stays Pending with FailedScheduling "Insufficient cpu" / "Insufficient memory" / "Insufficient nvidia.com/gpu".',
    fix: 'Lower the requests to what the pod really needs, or add (or let the autoscaler add) nodes large enough.',
  },
  check(pod, ctx) {
    const view = ctx.cluster
    if (view === undefined) return []
    const r = schedule(pod, view)
    if (r?.blockedAt !== 'fits') return []
    const resources = [...r.tooSmall.keys()]
    const first = resources[0] ?? 'cpu'
    const where = requestField(pod, view, first)
    const biggest = r.largestEligible.get(first)
    const biggestText =
      biggest === undefined || biggest === 0 ? `no eligible node offers any ${first}` : `the largest eligible node offers ${formatUnits(first, biggest)} ${first}`
    const finding = {
      path: where.path,
      message: `the pod requests ${describeRequests(r.requests, resources)} but ${biggestText} (${countedReasons(r, 0)}): Pending with "Insufficient ${first}", ${AUTOSCALER_NOTE}`,
      fix: `lower the ${resources.join(' and ')} requests to what the pod needs, or add nodes with more allocatable ${resources.join(' and ')}`,
    }
    return [where.container === undefined ? finding : { ...finding, container: where.container, message: `container "${where.container}": ${finding.message}` }]
  },
})
