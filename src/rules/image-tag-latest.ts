import { defineRule, NO_PARAMS, type RuleFinding } from '../engine/rule.js'
import { imageRef, quoteImage, type ImageRef } from '../engine/image-ref.js'
import type { ContainerView } from '../engine/types.js'

/**
 * What the floating tag does at run time. The API server defaults imagePullPolicy to Always
 * exactly when the tag is `latest` or missing (and no digest is given), else IfNotPresent.
 */
function consequence(c: ContainerView, ref: ImageRef): string {
  const defaulted = ref.tag === undefined || ref.tag === 'latest' ? 'Always' : 'IfNotPresent'
  const policy = c.spec.imagePullPolicy ?? defaulted
  if (policy === 'Always') {
    return `${c.spec.imagePullPolicy === undefined ? 'imagePullPolicy defaults to Always, so ' : ''}every start pulls again (ErrImagePull when the registry is slow or down) and replicas started at different times may run different builds`
  }
  if (policy === 'Never') return 'each node runs whichever build was preloaded on it, so replicas may run different builds'
  return 'each node keeps whichever build it pulled first, so replicas may run different builds and a new push never reaches running nodes'
}

function pinFix(ref: ImageRef): string {
  return `pin a version tag or a digest, e.g. ${ref.repository}:<version> or ${ref.repository}@sha256:<digest>`
}

export const rule = defineRule({
  id: 'image-tag-latest',
  title: 'Image has no tag, or the tag latest',
  defaultAction: 'warn',
  scope: ['static'],
  params: NO_PARAMS,
  docs: {
    summary: 'Images without a tag, or tagged latest, change under a running workload.',
    description:
      'Reports an image with neither tag nor digest (it means :latest), or with the tag latest in any ' +
      'letter case (Latest, LATEST: a different tag to the registry, but the same moving target). A port ' +
      'is not a tag: registry:5000/app has no tag. A digest pins the image whatever the tag says, so ' +
      'app@sha256:... is never reported; app:latest@sha256:... is reported only at info level when ' +
      'imagePullPolicy is not set, because the :latest still makes the API server default the policy to ' +
      'Always, and every start then needs the registry. Invalid references are left to image-name-invalid.',
    failure:
      'With no tag or :latest the API server defaults imagePullPolicy to Always: every container start pulls, ' +
      'so a slow or unreachable registry turns a restart into ErrImagePull / ImagePullBackOff, and pods started ' +
      'at different times run different builds (a rollback does not roll back). With IfNotPresent each node ' +
      'keeps whatever it pulled first.',
    fix: 'Pin a version tag (nginx:1.27.3) or, better, a digest (nginx@sha256:<digest>), and change it to roll out.',
  },
  check(pod) {
    const findings: RuleFinding[] = []
    for (const c of pod.containers) {
      const image = c.spec.image
      if (image === undefined || image === '') continue
      const r = imageRef(image)
      if (!r.ok) continue
      const ref = r.ref
      const path = `${c.path}.image`
      if (ref.digest !== undefined) {
        // Pinned: the runtime pulls the digest and ignores the tag. Only the pull policy is left.
        if (ref.tag === 'latest' && c.spec.imagePullPolicy === undefined) {
          findings.push({
            path,
            container: c.name,
            action: 'info',
            message: `container "${c.name}" image ${quoteImage(image)} is pinned by digest, but its :latest makes imagePullPolicy default to Always, so every start needs the registry (ErrImagePull when it is down)`,
            fix: `drop the ":latest" and keep the digest (${ref.repository}@${ref.digest}), or set imagePullPolicy: IfNotPresent`,
          })
        }
        continue
      }
      if (ref.tag === undefined) {
        findings.push({
          path,
          container: c.name,
          message: `container "${c.name}" image ${quoteImage(image)} has no tag, so it runs whatever ${ref.repository}:latest is at pull time; ${consequence(c, ref)}`,
          fix: pinFix(ref),
        })
      } else if (ref.tag.toLowerCase() === 'latest') {
        findings.push({
          path,
          container: c.name,
          message: `container "${c.name}" image ${quoteImage(image)} uses the moving tag "${ref.tag}"; ${consequence(c, ref)}`,
          fix: pinFix(ref),
        })
      }
    }
    return findings
  },
})
