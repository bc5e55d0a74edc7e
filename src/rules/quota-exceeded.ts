import { defineRule, type RuleFinding } from '../engine/rule.js'
import type { PodView, ReportAction } from '../engine/types.js'
import { quotaExcesses, describeScopes } from '../cluster/quota.js'
import { eligibleNodes, requestField } from '../cluster/scheduling.js'
import { formatAmount } from '../cluster/resources.js'

const PREFIX = /^(requests|limits)\./

interface Params {
  podAction: ReportAction
}

/** Who creates the pods of a kind, and so who reports FailedCreate. */
function creator(kind: string): string {
  if (kind === 'Deployment') return 'ReplicaSet'
  if (kind === 'CronJob') return 'Job'
  return kind
}

function replicasPath(pod: PodView): string | undefined {
  switch (pod.kind) {
    case 'Job':
      return 'spec.parallelism'
    case 'CronJob':
      return 'spec.jobTemplate.spec.parallelism'
    case 'Pod':
    case 'DaemonSet':
      return undefined
    default:
      return 'spec.replicas'
  }
}

export const rule = defineRule<Params>({
  id: 'quota-exceeded',
  title: 'The pods would exceed a ResourceQuota',
  defaultAction: 'warn',
  scope: ['cluster'],
  params: {
    type: 'object',
    properties: {
      podAction: {
        enum: ['deny', 'warn', 'info'],
        default: 'deny',
        description:
          'Action for a bare Pod, which the API server would reject anyway (workloads use the rule\'s action: their ' +
          'controller fails later, in events).',
      },
    },
    additionalProperties: false,
  },
  docs: {
    summary: 'The object\'s pods would push a ResourceQuota of the namespace past its hard limit.',
    description:
      'For every ResourceQuota of the namespace whose scopes and scopeSelector match the pod (Terminating, NotTerminating, ' +
      'BestEffort, NotBestEffort, PriorityClass with In/NotIn/Exists/DoesNotExist, CrossNamespacePodAffinity), adds what ' +
      'the pods would use to status.used, per resource name: cpu/requests.cpu, memory/requests.memory, limits.*, ' +
      'ephemeral-storage, requests.<extended resource>, hugepages, pods and count/pods. Requests are the effective pod ' +
      'requests after LimitRange defaults, times replicas (parallelism for Jobs; the eligible nodes for a DaemonSet). The ' +
      'usage of the object\'s own running pods (matched by its selector) is taken off first, so an update is not counted ' +
      'twice. Object-count quotas on the workload itself (count/deployments.apps) are left to the API server, which ' +
      'rejects those at once.',
    failure:
      'A bare Pod is rejected: Forbidden "exceeded quota". A Deployment, StatefulSet, Job or DaemonSet is accepted, but ' +
      'its controller cannot create the pods: FailedCreate "exceeded quota" in events nobody reads, and fewer replicas ' +
      'than asked.',
    fix: 'Lower requests or replicas, free quota in the namespace, or ask for a larger quota.',
  },
  check(pod, ctx) {
    const view = ctx.cluster
    if (view === undefined) return []
    const ns = pod.object.namespace ?? 'default'
    if (!view.knows('ResourceQuota', ns)) return []
    let count = pod.replicas
    if (count === undefined) count = eligibleNodes(pod, view) ?? 1
    if (count <= 0) return []
    const out: RuleFinding[] = []
    for (const e of quotaExcesses(pod, view, count)) {
      const fmt = (q: typeof e.hard): string => formatAmount(e.resource, q)
      const isCount = e.resource === 'pods' || e.resource === 'count/pods'
      const countText = isCount ? `${e.pods} more pod${e.pods === 1 ? '' : 's'}` : `${e.pods === 1 ? fmt(e.perPod) : `${e.pods} pods × ${fmt(e.perPod)}`} more`
      const released = e.released.n > 0n ? ` (after releasing ${fmt(e.released)} of the pods it replaces)` : ''
      const outcome =
        pod.kind === 'Pod'
          ? 'the API server rejects the pod (Forbidden: exceeded quota)'
          : `the ${creator(pod.kind)} cannot create the pods (FailedCreate: exceeded quota)`
      let path: string
      let container: string | undefined
      const rp = replicasPath(pod)
      if (e.resource === 'pods' || e.resource === 'count/pods') {
        path = rp ?? 'metadata.name'
      } else {
        const limits = e.resource.startsWith('limits.')
        const base = e.resource.replace(PREFIX, '')
        const where = requestField(pod, view, base, limits ? 'limits' : 'requests')
        path = where.path
        container = where.container
      }
      const finding: RuleFinding = {
        path,
        message: `${e.resource} would reach ${fmt(e.projected)} of ${fmt(e.hard)} in ResourceQuota "${e.quota.name}"${describeScopes(e.quota)} of namespace "${ns}" (${fmt(e.used)} used, ${countText}${released}): ${outcome}`,
        fix: isCount
          ? `run fewer pods${rp !== undefined ? ` (${rp})` : ''}, delete pods that are no longer needed in "${ns}", or raise the quota's ${e.resource}`
          : `lower the ${e.resource} of the pods${e.pods > 1 ? ' or the replicas' : ''}, free quota in "${ns}", or raise the quota's ${e.resource}`,
      }
      if (container !== undefined) {
        finding.container = container
        finding.message += `; container "${container}" asks the most`
      }
      if (pod.kind === 'Pod') finding.action = ctx.params.podAction
      out.push(finding)
    }
    return out
  },
})
