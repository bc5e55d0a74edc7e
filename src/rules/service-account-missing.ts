import { defineRule, NO_PARAMS } from '../engine/rule.js'
import { lookup, namespaceOf } from '../cluster/references.js'

export const rule = defineRule({
  id: 'service-account-missing',
  title: 'ServiceAccount does not exist',
  defaultAction: 'warn',
  scope: ['batch', 'cluster'],
  params: NO_PARAMS,
  docs: {
    summary: 'serviceAccountName names a ServiceAccount that does not exist.',
    description:
      'Checks spec.serviceAccountName (or the deprecated spec.serviceAccount). The "default" ServiceAccount is never ' +
      'reported: the cluster creates it in every namespace. A ServiceAccount defined in the same run counts as existing; a ' +
      'missing one is reported only when the namespace is known (live cluster, state files that captured ServiceAccounts, or ' +
      '--complete).',
    failure:
      'A bare Pod is rejected by the API server ("serviceaccount NAME not found"); a Deployment, Job or other controller ' +
      'accepts the object but cannot create pods: its ReplicaSet or Job reports FailedCreate in events nobody reads, and the ' +
      'workload sits at 0 ready replicas.',
    fix: 'Create the ServiceAccount in the same namespace (in the same run, before the workload), or correct serviceAccountName.',
  },
  check(pod, ctx) {
    const field = pod.spec.serviceAccountName !== undefined ? 'serviceAccountName' : 'serviceAccount'
    const name = pod.spec.serviceAccountName ?? pod.spec.serviceAccount
    if (name === undefined || name === '' || name === 'default') return []
    const ns = namespaceOf(pod)
    const p = lookup('ServiceAccount', ns, name, ctx)
    if (p.state !== 'missing') return []
    const outcome =
      pod.kind === 'Pod'
        ? 'the API server rejects the pod (serviceaccount not found)'
        : `the ${pod.kind === 'Deployment' ? 'ReplicaSet' : pod.kind === 'CronJob' ? 'Job' : pod.kind} cannot create pods (FailedCreate: serviceaccount "${name}" not found)`
    return [
      {
        path: `${pod.specPath}.${field}`,
        message: `ServiceAccount "${name}" does not exist in namespace "${ns}" ${p.where}: ${outcome}`,
        fix: `create ServiceAccount "${name}" in namespace "${ns}" (kubectl create serviceaccount ${name} -n ${ns}) before the workload, or correct ${field}`,
      },
    ]
  },
})
