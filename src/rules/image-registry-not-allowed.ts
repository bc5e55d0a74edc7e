import { defineRule, type RuleFinding } from '../engine/rule.js'
import { imageRef, matchRegistry, quoteImage, registryOf, REGISTRY_ENTRY_PATTERN, type ImageRef } from '../engine/image-ref.js'

interface Params {
  allowed: string[]
}

function listed(entries: readonly string[]): string {
  return entries.length <= 4 ? entries.join(', ') : `${entries.slice(0, 4).join(', ')} and ${entries.length - 4} more`
}

/** Where the image would live in the first allowed registry that is not a pattern. */
function mirrored(ref: ImageRef, entries: readonly string[]): string | undefined {
  const target = entries.find((e) => !e.includes('*'))
  if (target === undefined) return undefined
  const suffix = ref.digest !== undefined ? `@${ref.digest}` : `:${ref.tag ?? '<version>'}`
  return `${target.replace(/\/+$/, '')}/${ref.path}${suffix}`
}

export const rule = defineRule<Params>({
  id: 'image-registry-not-allowed',
  title: 'Image registry is not in the allowed list',
  defaultAction: 'deny',
  scope: ['static'],
  security: true,
  params: {
    type: 'object',
    properties: {
      allowed: {
        type: 'array',
        items: { type: 'string', pattern: REGISTRY_ENTRY_PATTERN },
        default: [],
        description:
          'Registries images may come from: a host (registry.example.com, any port), host:port, a wildcard ' +
          '(*.example.com: one or more characters, dots included) and optionally a path prefix matched on whole ' +
          'components (registry.example.com/team/; docker.io/library/ for Docker Hub official images). Docker Hub ' +
          'is docker.io, whatever the image says (nginx, index.docker.io/..., registry-1.docker.io/...). ' +
          'Empty (the default): the rule reports nothing.',
      },
    },
    additionalProperties: false,
  },
  docs: {
    summary: 'Images must come from the registries the policy allows.',
    description:
      'When the policy lists allowed registries, reports every image (init, app and ephemeral containers) whose ' +
      'registry is not among them. The registry is the one the runtime will contact after Docker normalisation: ' +
      'an image without a registry (nginx, bitnami/redis) comes from docker.io, and registry:5000/app from ' +
      'registry:5000. Hosts compare case-insensitively. With the default empty list the rule is silent. Invalid ' +
      'references are left to image-name-invalid.',
    failure:
      'Nodes would pull from a registry the organisation has not vetted: unscanned or tampered images, Docker ' +
      'Hub rate limits (ErrImagePull "toomanyrequests"), or a registry the nodes cannot reach at all ' +
      '(ErrImagePull / ImagePullBackOff in air-gapped clusters).',
    fix: 'Mirror the image into an allowed registry and reference it there, or add its registry to the policy\'s allowed list.',
  },
  check(pod, ctx) {
    const allowed = ctx.params.allowed
    if (allowed.length === 0) return []
    const findings: RuleFinding[] = []
    for (const c of pod.containers) {
      const image = c.spec.image
      if (image === undefined || image === '') continue
      const r = imageRef(image)
      if (!r.ok || matchRegistry(r.ref, allowed) !== undefined) continue
      const reg = registryOf(r.ref.domain)
      const registry = reg.port !== undefined ? `${reg.host}:${reg.port}` : reg.host
      const mirror = mirrored(r.ref, allowed)
      findings.push({
        path: `${c.path}.image`,
        container: c.name,
        message: `container "${c.name}" image ${quoteImage(image)} is pulled from ${registry} (${registry}/${r.ref.path}), outside the policy's allowed registries (${listed(allowed)}); nodes would fetch it from an unvetted source`,
        fix:
          (mirror !== undefined ? `copy the image into an allowed registry and use it from there, e.g. ${mirror}` : 'copy the image into an allowed registry and use it from there') +
          `, or extend the policy's allowed registries to cover ${registry}/${r.ref.path}`,
      })
    }
    return findings
  },
})
