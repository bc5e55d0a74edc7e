import { defineRule, NO_PARAMS } from '../engine/rule.js'
import { imageRef, isHostLike, quoteImage, type ImageRefErrorCode } from '../engine/image-ref.js'
import type { RuleFinding } from '../engine/rule.js'
import type { PodView } from '../engine/types.js'

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//

/** The tag separator of a written reference: the first ':' after the last '/', before any '@'. */
function tagStart(image: string): number {
  const at = image.indexOf('@')
  const end = at < 0 ? image.length : at
  const colon = image.indexOf(':', image.lastIndexOf('/', end - 1) + 1)
  return colon >= 0 && colon < end ? colon : end
}

/** A corrected reference for the common slips (spaces, a scheme, '//', upper case), when one parses. */
function suggestion(image: string): string | undefined {
  let candidate = image.trim().replace(SCHEME, '').replace(/\/{2,}/g, '/')
  const cut = tagStart(candidate)
  const at = candidate.indexOf('@')
  candidate = candidate.slice(0, cut).toLowerCase() + candidate.slice(cut, at < 0 ? undefined : at) + (at < 0 ? '' : candidate.slice(at).toLowerCase())
  return candidate !== image && imageRef(candidate).ok ? candidate : undefined
}

const FIXES: Record<ImageRefErrorCode, string> = {
  empty: 'set the image',
  whitespace: 'remove the whitespace from the image',
  scheme: 'drop the URL scheme: an image is registry/repository:tag',
  placeholder: 'render the template (helm template, kustomize, envsubst) before applying, so that image holds a literal reference',
  identifier: 'refer to the image by name and digest (repository@sha256:<id>), not by bare ID',
  uppercase: 'write the repository in lower case (only the registry host and the tag may have capitals)',
  domain: "correct the registry host: letters, digits, '-' and '.', an optional :port of digits, an IPv6 address in brackets",
  path: "correct the repository path: lower-case letters and digits joined by '.', '_', '__' or '-', components separated by a single '/'",
  'name-length': 'shorten the repository path to at most 255 characters',
  tag: "use a tag of letters, digits, '_', '.' and '-' that does not start with '.' or '-'",
  'tag-length': 'shorten the tag to at most 128 characters',
  digest: 'use the full digest: sha256: and 64 lower-case hex digits (docker buildx imagetools inspect or crane digest prints it)',
}

function consequence(pod: PodView, image: string): string {
  if (image.trim() !== image) {
    return pod.kind === 'Pod'
      ? 'the API server rejects the Pod (image must not have leading or trailing whitespace)'
      : `the API server rejects every pod the ${pod.kind} creates (FailedCreate), so none ever runs`
  }
  return 'the kubelet cannot parse it, so the container waits in InvalidImageName and never starts'
}

export const rule = defineRule({
  id: 'image-name-invalid',
  title: 'Image reference is not valid',
  defaultAction: 'deny',
  scope: ['static'],
  params: NO_PARAMS,
  docs: {
    summary: 'The image is not a valid reference, so no node can pull it.',
    description:
      'Checks every image against the reference grammar the kubelet parses it with: ' +
      '[registry[:port]/]repository[:tag][@algorithm:hex]. The repository must be lower case, its path ' +
      "components letters and digits joined by '.', '_', '__' or dashes, and at most 255 characters long " +
      '(counting the implied library/ of Docker Hub names); a tag is at most 128 letters, digits, ' +
      "'_', '.' and '-', not starting with '.' or '-'; a digest is sha256, sha384 or sha512 with exactly " +
      '64, 96 or 128 lower-case hex digits. Whitespace anywhere, a URL scheme, an unrendered template ' +
      'placeholder and a bare 64-hex image ID are refused too. Upper case is allowed in the registry ' +
      'host and in the tag. An empty image is reported by the engine, not by this rule. One valid form is ' +
      'reported at warn level: a first component without a dot or port that has capitals (MyOrg/app:1) is read ' +
      'as a registry host, not as the Docker Hub namespace it almost always means.',
    failure:
      'The container waits with reason InvalidImageName ("couldn\'t parse image reference") and the pod never ' +
      'starts. Leading or trailing whitespace is refused earlier: the API server rejects a Pod outright, and ' +
      'for a workload it rejects every pod the controller creates (FailedCreate events, zero pods). A ' +
      'capitalised first component sends the pull to a host of that name: ErrImagePull (no such host).',
    fix:
      'Write the reference in lower case (except the registry host and the tag), without spaces or a scheme, ' +
      'e.g. registry.example.com:5000/team/app:1.4.2 or app@sha256:<64 hex digits>.',
  },
  check(pod) {
    const findings: RuleFinding[] = []
    for (const c of pod.containers) {
      const image = c.spec.image
      if (image === undefined || image === '') continue
      const r = imageRef(image)
      if (r.ok) {
        const { domain } = r.ref
        if (isHostLike(domain)) continue
        // Valid, but the capitals made the first component a registry host: `MyOrg/app` is pulled from a host named MyOrg.
        findings.push({
          path: `${c.path}.image`,
          container: c.name,
          action: 'warn',
          message: `container "${c.name}" image ${quoteImage(image)} is pulled from a host named "${domain}": a first component with capitals is read as a registry, not a Docker Hub namespace, so the pull fails (ErrImagePull)`,
          fix: `write ${quoteImage(`${domain.toLowerCase()}${image.slice(domain.length)}`)} for Docker Hub, or the registry's full host name (with a dot or a :port)`,
        })
        continue
      }
      const better = suggestion(image)
      findings.push({
        path: `${c.path}.image`,
        container: c.name,
        message: `container "${c.name}" image ${quoteImage(image)} is not a valid reference: ${r.error.message}; ${consequence(pod, image)}`,
        fix: better !== undefined ? `use ${quoteImage(better)}` : FIXES[r.error.code],
      })
    }
    return findings
  },
})
