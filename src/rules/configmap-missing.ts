import { defineRule, NO_PARAMS } from '../engine/rule.js'
import { keyedFindings } from '../cluster/references.js'

export const rule = defineRule({
  id: 'configmap-missing',
  title: 'Referenced ConfigMap or key does not exist',
  defaultAction: 'warn',
  scope: ['batch', 'cluster'],
  params: NO_PARAMS,
  docs: {
    summary: 'A ConfigMap (or a key of it) that the pod reads does not exist.',
    description:
      'Checks every non-optional ConfigMap reference: env valueFrom.configMapKeyRef, envFrom.configMapRef, and configMap and ' +
      'projected volumes that a container mounts, with the keys they name. A ConfigMap defined in the same run counts as ' +
      'existing. A missing ConfigMap is reported only when the namespace is known: from the live cluster, from state files ' +
      'that captured ConfigMaps, or from a run declared complete with --complete; otherwise the rule stays silent. ' +
      'Keys are checked whenever the ConfigMap itself is known (the view keeps the keys of ConfigMaps, never their values).',
    failure:
      'A missing ConfigMap or key in env/envFrom keeps the container in CreateContainerConfigError; in a volume, the pod ' +
      'stays in ContainerCreating with FailedMount events. Nothing crashes, so nothing restarts: it just never starts.',
    fix: 'Create the ConfigMap (with the key) in the same namespace before the workload, correct the name or key, or mark the reference optional: true.',
  },
  check(pod, ctx) {
    return keyedFindings(pod, ctx, 'ConfigMap')
  },
})
