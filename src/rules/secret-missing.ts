import { defineRule, NO_PARAMS } from '../engine/rule.js'
import { keyedFindings } from '../cluster/references.js'

export const rule = defineRule({
  id: 'secret-missing',
  title: 'Referenced Secret or key does not exist',
  defaultAction: 'warn',
  scope: ['batch', 'cluster'],
  params: NO_PARAMS,
  docs: {
    summary: 'A Secret (or a key of it) that the pod reads does not exist.',
    description:
      'Checks every non-optional Secret reference: env valueFrom.secretKeyRef, envFrom.secretRef, and secret and projected ' +
      'volumes that a container mounts. A Secret defined in the same run counts as existing, and its keys (data, stringData) ' +
      'are checked. In the cluster only the existence of a Secret is known: the view lists Secrets as metadata and never ' +
      'reads their data, so a missing KEY of a Secret that lives only in the cluster cannot be judged. A missing Secret is ' +
      'reported only when the namespace is known (live cluster, state files that captured Secrets, or --complete).',
    failure:
      'A missing Secret or key in env/envFrom keeps the container in CreateContainerConfigError; in a volume, the pod stays ' +
      'in ContainerCreating with FailedMount events.',
    fix: 'Create the Secret (with the key) in the same namespace before the workload, correct the name or key, or mark the reference optional: true.',
  },
  check(pod, ctx) {
    return keyedFindings(pod, ctx, 'Secret')
  },
})
