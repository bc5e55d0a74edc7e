import { defineRule, NO_PARAMS } from '../engine/rule.js'
import { schedule, countedReasons, AUTOSCALER_NOTE } from '../cluster/scheduling.js'

export const rule = defineRule({
  id: 'taints-not-tolerated',
  title: 'Every otherwise eligible node has a taint the pod does not tolerate',
  defaultAction: 'warn',
  scope: ['cluster'],
  params: NO_PARAMS,
  docs: {
    summary: 'Every node that passes nodeSelector and affinity carries a NoSchedule or NoExecute taint the pod does not tolerate.',
    description:
      'Matches the pod\'s tolerations against node taints the way the scheduler does: effect empty or equal, key empty ' +
      '(with Exists) or equal, Exists ignores the value, Equal compares it. PreferNoSchedule taints never block. DaemonSet ' +
      'pods get the tolerations the DaemonSet controller adds. The not-ready, unreachable and unschedulable taints of the ' +
      'node lifecycle are left to no-ready-node. It warns because an autoscaler may add an untainted node.',
    failure: 'The pod stays Pending with FailedScheduling "node(s) had untolerated taint {key: value}".',
    fix: 'Add a toleration for the taint if the pod belongs on those nodes, or remove the taint (kubectl taint node NAME key-) if it is no longer needed.',
  },
  check(pod, ctx) {
    if (ctx.cluster === undefined) return []
    const r = schedule(pod, ctx.cluster)
    if (r?.blockedAt !== 'taints') return []
    const top = r.taints[0]?.[0]
    const toleration =
      top === undefined
        ? ''
        : top.value === ''
          ? `{key: ${top.key}, operator: Exists, effect: ${top.effect}}`
          : `{key: ${top.key}, operator: Equal, value: ${top.value}, effect: ${top.effect}}`
    return [
      {
        path: `${pod.specPath}.tolerations`,
        message: `${countedReasons(r, 0)}: every node that matches the pod's selector and affinity has a taint it does not tolerate, so the pod stays Pending (FailedScheduling), ${AUTOSCALER_NOTE}`,
        fix: `add a toleration such as ${toleration} if the pod belongs on those nodes, or remove the taint from the nodes`,
      },
    ]
  },
})
