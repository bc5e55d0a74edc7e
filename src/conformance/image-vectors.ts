/**
 * Scores `image-name-invalid` and `image-tag-latest` on image-reference vectors that carry the
 * kubelet's own verdict (distribution/reference's ParseNormalizedNamed): an invalid reference
 * must be denied by image-name-invalid, a valid one never; image-tag-latest must fire, at any
 * level, exactly for the untagged ones (no tag and no digest, or the tag `latest`). Each vector
 * is judged as a Pod with that image, through the same path as `pod-preflight check`.
 */
import { readFile } from 'node:fs/promises'
import { parseDocuments } from '../input/documents.js'
import type { PodRule } from '../engine/rule.js'
import type { Policy } from '../policy/policy.js'
import { runCheck } from '../cli/run-check.js'
import { allFindings } from '../cli/report.js'

interface Vector {
  id: string
  input: string
  expected_valid: boolean
  expected_untagged: boolean
}

export interface Score {
  passed: number
  total: number
  failures: string[]
}

function shown(s: string): string {
  const j = JSON.stringify(s)
  return j.length > 90 ? `${j.slice(0, 87)}..."` : j
}

export async function scoreImageVectors(file: string, policy: Policy, rules: readonly PodRule<unknown>[]): Promise<Score> {
  const data = JSON.parse(await readFile(file, 'utf8')) as { vectors?: Vector[] }
  const vectors = Array.isArray(data.vectors) ? data.vectors : []
  const failures: string[] = []
  let passed = 0
  for (const v of vectors) {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'vector', namespace: 'default' }, spec: { containers: [{ name: 'c', image: v.input }] } }
    const { documents, errors } = parseDocuments(JSON.stringify(pod), `vector ${v.id}`)
    const report = runCheck(documents, errors, { policy, rules, namespace: 'default', files: 1 })
    const findings = allFindings(report)
    const denied = findings.some((f) => f.rule === 'image-name-invalid' && f.action === 'deny')
    const latest = findings.some((f) => f.rule === 'image-tag-latest')
    const inputError = report.errors.length > 0
    const problems: string[] = []
    if (v.expected_valid && denied) problems.push('valid for the kubelet, but image-name-invalid denies it')
    // An empty image may be refused as an input error instead.
    if (!v.expected_valid && !denied && !(v.input.trim() === '' && inputError)) problems.push('invalid for the kubelet (InvalidImageName), but image-name-invalid does not deny it')
    if (v.expected_untagged && !latest) problems.push('untagged (pulled as :latest), but image-tag-latest is silent')
    if (!v.expected_untagged && latest) problems.push('not untagged, but image-tag-latest fires')
    if (problems.length === 0) passed++
    else failures.push(`image-ref ${v.id} ${shown(v.input)}: ${problems.join('; ')}`)
  }
  return { passed, total: vectors.length, failures }
}
