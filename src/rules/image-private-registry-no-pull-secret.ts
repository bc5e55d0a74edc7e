import { defineRule, type RuleContext, type RuleFinding } from '../engine/rule.js'
import { imageRef, matchRegistry, quoteImage, registryOf, REGISTRY_ENTRY_PATTERN } from '../engine/image-ref.js'
import type { PodView } from '../engine/types.js'

interface Params {
  publicRegistries: string[]
  nodeAuthenticatedRegistries: string[]
}

const ENTRY_SYNTAX =
  'Entries are hosts (any port), host:port, wildcards (*.example.com) and optional path prefixes matched on whole ' +
  'components (registry.example.com/public/).'

/**
 * Registries whose images are commonly pulled without credentials. ghcr.io, quay.io and
 * registry.gitlab.com host private repositories too, but images referenced from them in manifests
 * are mostly public open-source ones; a team with private images there should replace the host
 * with the public path prefixes it uses (e.g. ghcr.io/fluxcd/). registry.redhat.io needs a login
 * and is not listed; registry.access.redhat.com is its public face. localhost and 127.0.0.1 are the
 * local registries of kind, k3d and minikube, which take no credentials.
 */
export const DEFAULT_PUBLIC_REGISTRIES: readonly string[] = [
  'docker.io',
  'ghcr.io',
  'quay.io',
  'gcr.io',
  'registry.k8s.io',
  'k8s.gcr.io',
  'public.ecr.aws',
  'mcr.microsoft.com',
  'docker.elastic.co',
  'registry.access.redhat.com',
  'registry.gitlab.com',
  'cgr.dev',
  'localhost',
  '127.0.0.1',
]

/**
 * Cloud registries that nodes usually authenticate to themselves (kubelet credential provider or
 * the cloud's node identity: EKS with ECR, GKE with Artifact Registry and regional GCR, AKS with an
 * attached ACR, ACK with its credential helper), so pods need no imagePullSecrets.
 */
export const DEFAULT_NODE_AUTHENTICATED_REGISTRIES: readonly string[] = [
  '*.dkr.ecr.*.amazonaws.com',
  '*.dkr.ecr.*.amazonaws.com.cn',
  '*-docker.pkg.dev',
  '*.gcr.io',
  '*.azurecr.io',
  '*.azurecr.cn',
  '*.aliyuncs.com',
]

/** The ServiceAccount the pod runs as: serviceAccountName, the deprecated serviceAccount, or default. */
function serviceAccountName(pod: PodView): string {
  const name = pod.spec.serviceAccountName ?? pod.spec.serviceAccount
  return name === undefined || name === '' ? 'default' : name
}

/**
 * HOOK(cluster): the names of the ServiceAccount's imagePullSecrets, or undefined when they cannot be known.
 *
 * The ServiceAccount admission plugin copies a ServiceAccount's imagePullSecrets into every pod created
 * without any, so a pod template without pull secrets can still pull when its ServiceAccount carries one.
 * Statically that is unknown, hence this rule only warns and says so. When `ctx.cluster` (synced) can list
 * ServiceAccounts, look up `name` in `pod.object.namespace` here: return its secret names ([] when it has
 * none, so the finding can drop its "unless" clause), or undefined when the ServiceAccount is not known.
 */
function serviceAccountPullSecrets(pod: PodView, name: string, ctx: RuleContext<Params>): readonly string[] | undefined {
  const ns = pod.object.namespace ?? 'default'
  // A ServiceAccount written in the same run is the one that will exist.
  const inRun = ctx.related?.get('ServiceAccount', ns, name)
  if (inRun !== undefined) {
    const list = inRun['imagePullSecrets']
    if (!Array.isArray(list)) return []
    return list.flatMap((s: unknown) => {
      const n = typeof s === 'object' && s !== null ? (s as Record<string, unknown>)['name'] : undefined
      return typeof n === 'string' && n !== '' ? [n] : []
    })
  }
  // The engine hands a cluster view to rules only while it is synced.
  if (ctx.cluster !== undefined && ctx.cluster.knows('ServiceAccount', ns)) return ctx.cluster.serviceAccount(ns, name)?.imagePullSecrets
  return undefined
}

export const rule = defineRule<Params>({
  id: 'image-private-registry-no-pull-secret',
  title: 'Private registry image without pull secrets',
  defaultAction: 'warn',
  scope: ['static', 'cluster'],
  params: {
    type: 'object',
    properties: {
      publicRegistries: {
        type: 'array',
        items: { type: 'string', pattern: REGISTRY_ENTRY_PATTERN },
        default: [...DEFAULT_PUBLIC_REGISTRIES],
        description:
          'Registries that serve images without credentials; images from them never need pull secrets. ' +
          `Docker Hub is docker.io (nginx, index.docker.io/..., registry-1.docker.io/... all count). ${ENTRY_SYNTAX} ` +
          'The default lists the well-known public registries, including ghcr.io, quay.io and registry.gitlab.com ' +
          'although they host private images too: replace a host with the public prefixes you use if you keep private ' +
          'images there. Setting this replaces the whole list.',
      },
      nodeAuthenticatedRegistries: {
        type: 'array',
        items: { type: 'string', pattern: REGISTRY_ENTRY_PATTERN },
        default: [...DEFAULT_NODE_AUTHENTICATED_REGISTRIES],
        description:
          'Registries the nodes authenticate to on their own (kubelet credential provider or cloud node identity: ' +
          `ECR on EKS, Artifact Registry and regional GCR on GKE, an attached ACR on AKS, ACR on Alibaba Cloud). ${ENTRY_SYNTAX} ` +
          'Set it to [] when your nodes have no such credentials, so that these registries are checked too.',
      },
    },
    additionalProperties: false,
  },
  docs: {
    summary: 'Images from a private registry need imagePullSecrets (on the pod or its ServiceAccount).',
    description:
      'Reports an image whose registry (after Docker normalisation: nginx is docker.io) is neither a known public ' +
      'registry nor one the nodes authenticate to themselves (both lists are parameters), in a pod with no ' +
      'imagePullSecrets. Any pull secret on the pod silences it: which secret holds credentials for which registry ' +
      'cannot be told from the manifest (image-pull-secret-missing checks that the secrets exist). The ' +
      "ServiceAccount's imagePullSecrets are copied into pods created without any, so a pod can still pull " +
      'through its ServiceAccount: with cluster state the rule will consult it; statically it cannot, which is why ' +
      'it warns rather than denies and says so. At admission of a bare Pod the copy has already happened, so the ' +
      "pod's own list is complete. Init, app and ephemeral containers are checked; invalid references are left to " +
      'image-name-invalid.',
    failure:
      'The kubelet pulls without credentials; the registry answers unauthorized (or "not found", to hide private ' +
      'repositories), the container waits in ErrImagePull and then ImagePullBackOff, and the pod never starts.',
    fix:
      'Create a docker-registry Secret in the namespace (kubectl create secret docker-registry regcred ' +
      '--docker-server=<registry> --docker-username=... --docker-password=...) and list it in the pod\'s ' +
      'spec.imagePullSecrets or in its ServiceAccount\'s imagePullSecrets. If the registry needs no credentials, ' +
      'add it to the rule\'s publicRegistries.',
  },
  check(pod, ctx) {
    const own = (pod.spec.imagePullSecrets ?? []).filter((s) => s.name !== undefined && s.name !== '')
    if (own.length > 0) return []
    const sa = serviceAccountName(pod)
    const fromServiceAccount = serviceAccountPullSecrets(pod, sa, ctx)
    if (fromServiceAccount !== undefined && fromServiceAccount.length > 0) return []

    const findings: RuleFinding[] = []
    for (const c of pod.containers) {
      const image = c.spec.image
      if (image === undefined || image === '') continue
      const r = imageRef(image)
      if (!r.ok) continue
      if (matchRegistry(r.ref, ctx.params.publicRegistries) !== undefined) continue
      if (matchRegistry(r.ref, ctx.params.nodeAuthenticatedRegistries) !== undefined) continue
      const reg = registryOf(r.ref.domain)
      const registry = reg.port !== undefined ? `${reg.host}:${reg.port}` : reg.host
      const unless = fromServiceAccount === undefined ? `; unless ServiceAccount "${sa}" carries one, ` : `, nor does ServiceAccount "${sa}"; `
      findings.push({
        path: `${c.path}.image`,
        container: c.name,
        message:
          `container "${c.name}" image ${quoteImage(image)} comes from ${registry}, not a known public registry, and the pod has no imagePullSecrets` +
          `${unless}the pull fails with ImagePullBackOff (unauthorized)`,
        fix:
          `create a docker-registry Secret for ${registry} (kubectl create secret docker-registry regcred --docker-server=${registry} ...) ` +
          `and list it in ${pod.specPath}.imagePullSecrets or in ServiceAccount "${sa}"'s imagePullSecrets; if ${registry} needs no credentials, or the nodes log in to it themselves, add it to the rule's publicRegistries or nodeAuthenticatedRegistries`,
      })
    }
    return findings
  },
})
