import { defineRule, NO_PARAMS, type RuleFinding } from '../engine/rule.js'
import { lookup, namespaceOf } from '../cluster/references.js'

const DOCKER_KEYS = ['.dockerconfigjson', '.dockercfg']

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** A pull secret written in the run must hold registry credentials, or the kubelet ignores it. */
function holdsCredentials(raw: Record<string, unknown>): boolean {
  for (const field of ['data', 'stringData']) {
    const d = raw[field]
    if (isRecord(d) && DOCKER_KEYS.some((k) => k in d)) return true
  }
  return false
}

export const rule = defineRule({
  id: 'image-pull-secret-missing',
  title: 'imagePullSecrets names a Secret that does not exist',
  defaultAction: 'warn',
  scope: ['batch', 'cluster'],
  params: NO_PARAMS,
  docs: {
    summary: 'An imagePullSecrets entry (of the pod or of its ServiceAccount) names a Secret that does not exist.',
    description:
      'Checks spec.imagePullSecrets, and the imagePullSecrets of the pod\'s ServiceAccount when the ServiceAccount is known ' +
      '(the API server copies them into the pod). A Secret in the same run counts as existing, and must then hold ' +
      '.dockerconfigjson or .dockercfg. A missing Secret is reported only when the namespace is known (live cluster, state ' +
      'files that captured Secrets, or --complete). Secret existence is read from metadata only.',
    failure:
      'The kubelet pulls without the credentials (FailedToRetrieveImagePullSecret); a private registry then answers ' +
      'unauthorized and the container waits in ErrImagePull / ImagePullBackOff.',
    fix: 'Create the docker-registry Secret in the same namespace (kubectl create secret docker-registry NAME ...), or correct the name.',
  },
  check(pod, ctx) {
    const ns = namespaceOf(pod)
    const out: RuleFinding[] = []
    const judge = (name: string, path: string, owner: string): void => {
      const p = lookup('Secret', ns, name, ctx)
      if (p.state === 'missing') {
        out.push({
          path,
          message: `${owner} names pull Secret "${name}", which does not exist in namespace "${ns}" ${p.where}: the kubelet pulls without credentials and a private registry answers unauthorized (ImagePullBackOff)`,
          fix: `create it: kubectl create secret docker-registry ${name} -n ${ns} --docker-server=... --docker-username=... --docker-password=..., or correct the name`,
        })
      } else if (p.state === 'found' && p.raw !== undefined && !holdsCredentials(p.raw)) {
        out.push({
          path,
          message: `${owner} names pull Secret "${name}", but that Secret in this run holds neither .dockerconfigjson nor .dockercfg: the kubelet cannot use it and a private registry answers unauthorized (ImagePullBackOff)`,
          fix: `make "${name}" a kubernetes.io/dockerconfigjson Secret with a .dockerconfigjson key (kubectl create secret docker-registry ${name} ...)`,
        })
      }
    }
    ;(pod.spec.imagePullSecrets ?? []).forEach((s, i) => {
      if (s.name === undefined || s.name === '') return
      judge(s.name, `${pod.specPath}.imagePullSecrets[${i}].name`, 'imagePullSecrets')
    })
    const own = new Set((pod.spec.imagePullSecrets ?? []).map((s) => s.name))
    const saName = pod.spec.serviceAccountName ?? pod.spec.serviceAccount ?? 'default'
    const saField = pod.spec.serviceAccountName !== undefined ? 'serviceAccountName' : pod.spec.serviceAccount !== undefined ? 'serviceAccount' : 'serviceAccountName'
    for (const name of serviceAccountPullSecrets(saName, ns, ctx)) {
      if (own.has(name)) continue
      judge(name, `${pod.specPath}.${saField}`, `ServiceAccount "${saName}"`)
    }
    return out
  },
})

/** The imagePullSecrets of a ServiceAccount, from the run or the cluster. */
function serviceAccountPullSecrets(name: string, ns: string, ctx: Parameters<typeof rule.check>[1]): string[] {
  const inRun = ctx.related?.get('ServiceAccount', ns, name)
  if (inRun !== undefined) {
    const list = inRun['imagePullSecrets']
    if (!Array.isArray(list)) return []
    return list.flatMap((s) => (isRecord(s) && typeof s['name'] === 'string' && s['name'] !== '' ? [s['name']] : []))
  }
  if (ctx.cluster !== undefined && ctx.cluster.knows('ServiceAccount', ns)) {
    return [...(ctx.cluster.serviceAccount(ns, name)?.imagePullSecrets ?? [])]
  }
  return []
}
