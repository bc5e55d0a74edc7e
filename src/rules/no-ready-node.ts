import { defineRule, NO_PARAMS } from '../engine/rule.js'
import { schedule, countedReasons, AUTOSCALER_NOTE } from '../cluster/scheduling.js'

export const rule = defineRule({
  id: 'no-ready-node',
  title: 'Every eligible node is NotReady or cordoned',
  defaultAction: 'warn',
  scope: ['cluster'],
  params: NO_PARAMS,
  docs: {
    summary: 'Every node the pod could go to is NotReady or cordoned.',
    description:
      'Among the nodes that pass nodeSelector, affinity and taints, counts those that are cordoned (spec.unschedulable, or ' +
      'the node.kubernetes.io/unschedulable taint) and those that are NotReady (Ready condition False or Unknown, or the ' +
      'not-ready / unreachable taints), unless the pod tolerates them. A node that reports no Ready condition at all is ' +
      'given the benefit of the doubt. It warns because nodes recover and autoscalers add new ones.',
    failure: 'The pod stays Pending ("node(s) were unschedulable", "node(s) had untolerated taint {node.kubernetes.io/not-ready: }").',
    fix: 'Uncordon a node (kubectl uncordon NAME) or repair the NotReady nodes (kubelet, network, disk); check kubectl describe node.',
  },
  check(pod, ctx) {
    if (ctx.cluster === undefined) return []
    const r = schedule(pod, ctx.cluster)
    if (r?.blockedAt !== 'ready') return []
    // Point at what chose these nodes; with no constraint, at the nodeName the scheduler cannot fill.
    const path =
      Object.keys(pod.spec.nodeSelector ?? {}).length > 0
        ? `${pod.specPath}.nodeSelector`
        : pod.spec.affinity?.nodeAffinity !== undefined
          ? `${pod.specPath}.affinity.nodeAffinity`
          : `${pod.specPath}.nodeName`
    return [
      {
        path,
        message: `${countedReasons(r, 0)}: every node the pod could run on is NotReady or cordoned, so the pod stays Pending, ${AUTOSCALER_NOTE} or a node recovers`,
        fix: 'uncordon a node (kubectl uncordon NAME) or repair the NotReady nodes (kubectl describe node NAME shows why)',
      },
    ]
  },
})
