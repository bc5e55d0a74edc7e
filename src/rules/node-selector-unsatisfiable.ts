import { defineRule, NO_PARAMS } from '../engine/rule.js'
import { schedule, countedReasons, AUTOSCALER_NOTE } from '../cluster/scheduling.js'

export const rule = defineRule({
  id: 'node-selector-unsatisfiable',
  title: 'No node carries the nodeSelector labels',
  defaultAction: 'warn',
  scope: ['cluster'],
  params: NO_PARAMS,
  docs: {
    summary: 'No node in the cluster carries every label of the pod\'s nodeSelector.',
    description:
      'Compares spec.nodeSelector with the labels of every node in the cluster view (live, or saved with --cluster-state). ' +
      'It warns rather than denies: a cluster autoscaler (or Karpenter) may create a node with these labels once the pod is ' +
      'Pending, and that is a normal way to run. The finding counts the nodes by the reason they were excluded, as ' +
      'FailedScheduling does.',
    failure:
      'The pod stays Pending with FailedScheduling "node(s) didn\'t match Pod\'s node affinity/selector"; for a Deployment the ' +
      'rollout stalls with unavailable replicas.',
    fix: 'Correct the selector, label the intended nodes (kubectl label node NAME key=value), or make sure a node group with these labels can scale up.',
  },
  check(pod, ctx) {
    const selector = Object.entries(pod.spec.nodeSelector ?? {})
    if (ctx.cluster === undefined || selector.length === 0) return []
    const r = schedule(pod, ctx.cluster)
    if (r?.blockedAt !== 'selector') return []
    const pairs = selector.map(([k, v]) => `${k}=${v}`).join(', ')
    return [
      {
        path: `${pod.specPath}.nodeSelector`,
        message: `${countedReasons(r, 0)}: no node has nodeSelector ${pairs}, so the pod stays Pending (FailedScheduling), ${AUTOSCALER_NOTE}`,
        fix: `correct the nodeSelector, label the intended nodes (kubectl label node NAME ${selector.map(([k, v]) => `${k}=${v}`).join(' ')}), or let a node group with these labels scale up`,
      },
    ]
  },
})
