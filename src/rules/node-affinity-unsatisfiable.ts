import { defineRule, NO_PARAMS } from '../engine/rule.js'
import { schedule, countedReasons, AUTOSCALER_NOTE } from '../cluster/scheduling.js'

export const rule = defineRule({
  id: 'node-affinity-unsatisfiable',
  title: 'No node satisfies the required node affinity',
  defaultAction: 'warn',
  scope: ['cluster'],
  params: NO_PARAMS,
  docs: {
    summary: 'No node satisfies the pod\'s required node affinity (together with its nodeSelector).',
    description:
      'Evaluates requiredDuringSchedulingIgnoredDuringExecution as the scheduler does: terms are ORed, the expressions and ' +
      'fields of a term ANDed; In, NotIn, Exists, DoesNotExist, Gt and Lt on labels; matchFields on metadata.name; an ' +
      'empty term matches nothing. It is judged over the nodes that pass the nodeSelector (when no node passes that, ' +
      'node-selector-unsatisfiable reports instead). It warns because an autoscaler may add a matching node.',
    failure: 'The pod stays Pending with FailedScheduling "node(s) didn\'t match Pod\'s node affinity/selector".',
    fix: 'Correct the affinity terms (keys, values, operators), label the intended nodes, or let a matching node group scale up.',
  },
  check(pod, ctx) {
    const terms = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
    if (ctx.cluster === undefined || terms === undefined) return []
    const r = schedule(pod, ctx.cluster)
    if (r?.blockedAt !== 'affinity') return []
    const withSelector = Object.keys(pod.spec.nodeSelector ?? {}).length > 0
    return [
      {
        path: `${pod.specPath}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution`,
        message: `${countedReasons(r, 0)}: no node satisfies the required node affinity${withSelector ? ' together with the nodeSelector' : ''}, so the pod stays Pending (FailedScheduling), ${AUTOSCALER_NOTE}`,
        fix: 'check the keys, values and operators of the nodeSelectorTerms against kubectl get nodes --show-labels, or move the rule to preferredDuringSchedulingIgnoredDuringExecution',
      },
    ]
  },
})
