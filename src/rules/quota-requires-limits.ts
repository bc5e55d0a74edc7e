import { defineRule, NO_PARAMS, type RuleFinding } from '../engine/rule.js'
import { requiredValues } from '../cluster/quota.js'
import { effectivePodResources } from '../cluster/resources.js'

function creator(kind: string): string {
  if (kind === 'Deployment') return 'ReplicaSet'
  if (kind === 'CronJob') return 'Job'
  return kind
}

export const rule = defineRule({
  id: 'quota-requires-limits',
  title: 'A ResourceQuota requires a value the container does not set',
  defaultAction: 'deny',
  scope: ['cluster'],
  params: NO_PARAMS,
  docs: {
    summary: 'A ResourceQuota tracks requests or limits of cpu or memory, and a container sets no such value.',
    description:
      'When a quota whose scopes match the pod tracks cpu, memory, requests.cpu, requests.memory, limits.cpu or ' +
      'limits.memory, the API server demands that every init and app container set that value. A limit without a request ' +
      'counts as the request (the API server copies it), and LimitRange defaults of the namespace fill missing values first, ' +
      'as the LimitRanger admission plugin runs before the quota. Only what is still missing after that is reported. The ' +
      'failure is certain, so the rule denies.',
    failure:
      'A bare Pod is rejected: Forbidden "failed quota: NAME: must specify limits.memory". A workload is accepted, but its ' +
      'controller cannot create any pod (FailedCreate with the same message).',
    fix: 'Set the value on every container (resources.limits.memory, resources.requests.cpu...), or add a LimitRange with defaults to the namespace.',
  },
  check(pod, ctx) {
    const view = ctx.cluster
    if (view === undefined) return []
    const ns = pod.object.namespace ?? 'default'
    if (!view.knows('ResourceQuota', ns)) return []
    const required = requiredValues(pod, view)
    if (required.length === 0) return []
    const res = effectivePodResources(pod, view)
    const out: RuleFinding[] = []
    pod.containers.forEach((c, i) => {
      if (c.kind === 'ephemeralContainer') return
      const cr = res.containers[i]
      if (cr === undefined) return
      for (const req of required) {
        if (cr[req.field].has(req.resource)) continue
        const quotas = req.quotas.map((q) => `"${q.name}"`).join(', ')
        const outcome =
          pod.kind === 'Pod'
            ? `the API server rejects the pod (must specify ${req.name})`
            : `the ${creator(pod.kind)} cannot create any pod (FailedCreate: must specify ${req.name})`
        out.push({
          path: `${c.path}.resources.${req.field}.${req.resource}`,
          container: c.name,
          message: `container "${c.name}" needs a ${req.resource} ${req.field === 'limits' ? 'limit' : 'request'}: ResourceQuota ${quotas} of namespace "${ns}" tracks ${req.name} and no LimitRange default fills it, so ${outcome}`,
          fix: `set resources.${req.field}.${req.resource} on container "${c.name}" (and every other container), or add a LimitRange with a default ${req.field === 'limits' ? '' : 'request '}for ${req.resource} to "${ns}"`,
        })
      }
    })
    return out
  },
})
