import { defineRule, NO_PARAMS } from '../engine/rule.js'
import { schedule, countedReasons, describeRequests, requestField, AUTOSCALER_NOTE } from '../cluster/scheduling.js'

export const rule = defineRule({
  id: 'no-node-has-free-capacity',
  title: 'Nodes are big enough, but none has that much room left',
  defaultAction: 'info',
  scope: ['cluster'],
  params: NO_PARAMS,
  docs: {
    summary: 'Some nodes are large enough for the pod, but none has enough unrequested room left (fragmentation).',
    description:
      'Subtracts the requests of the pods already bound to each node from its allocatable and checks whether even one ' +
      'replica still fits. Needs the pods of the cluster (the live view watches them; state files must include them). ' +
      'Free room changes all the time, so this is information, not a verdict: pods finish, get evicted or are preempted, ' +
      'and autoscalers add nodes. A cluster of many nodes each with a little room left cannot place one larger pod.',
    failure: 'The pod stays Pending with "Insufficient cpu/memory" until something is freed, preempted, or a node is added.',
    fix: 'Lower the requests, free room (scale down other workloads), use a PriorityClass that may preempt, or add nodes.',
  },
  check(pod, ctx) {
    const view = ctx.cluster
    if (view === undefined) return []
    const r = schedule(pod, view)
    if (r?.blockedAt !== 'free') return []
    const resources = [...r.noRoom.keys()]
    const where = requestField(pod, view, resources[0] ?? 'cpu')
    const finding = {
      path: where.path,
      message: `${r.passed.fits} node(s) are big enough for ${describeRequests(r.requests, resources)}, but none has that much unrequested room left (${countedReasons(r, 0)}): Pending until room is freed, ${AUTOSCALER_NOTE}`,
      fix: `lower the ${resources.join(' and ')} requests, free room on the nodes, or add nodes`,
    }
    return [where.container === undefined ? finding : { ...finding, container: where.container, message: `container "${where.container}": ${finding.message}` }]
  },
})
