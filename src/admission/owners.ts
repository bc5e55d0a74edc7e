/**
 * Which objects a workload controller made: the webhook's own test (controllingWorkload) and the
 * same test as a CEL expression for a webhook's `matchConditions` (Kubernetes 1.28 and later),
 * both from the engine's table of pod-bearing kinds and the groups they are served from, so that
 * what the API server leaves out is exactly what the webhook would never refuse.
 */
import { CONTROLLER_KINDS, groupOf, servedGroups } from '../engine/workload.js'

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** The controller that owns the object, when it is a workload whose template we judge: "ReplicaSet/web-7d4b9". */
export function controllingWorkload(object: Record<string, unknown>): string | undefined {
  const meta = object['metadata']
  if (!isRecord(meta) || !Array.isArray(meta['ownerReferences'])) return undefined
  for (const ref of meta['ownerReferences']) {
    if (!isRecord(ref) || ref['controller'] !== true) continue
    const kind = ref['kind']
    const apiVersion = ref['apiVersion']
    if (typeof kind !== 'string' || typeof apiVersion !== 'string' || !CONTROLLER_KINDS.includes(kind)) continue
    if (!(servedGroups(kind) ?? []).includes(groupOf(apiVersion))) continue
    return `${kind}/${typeof ref['name'] === 'string' ? ref['name'] : '?'}`
  }
  return undefined
}

/** The name of the match condition `install` renders. */
export const NOT_OWNED_CONDITION = 'not-owned-by-a-workload'

const celString = (s: string): string => `'${s}'`

/**
 * The CEL expression that is true unless the object's controller is a workload of its group:
 * the API server calls the webhook only when it is true. Kinds with the same groups share a
 * clause; the core group ('') is an apiVersion without a slash ("v1").
 */
export function notOwnedExpression(): string {
  const byGroups = new Map<string, string[]>()
  for (const kind of CONTROLLER_KINDS) {
    const k = (servedGroups(kind) ?? []).join(',')
    byGroups.set(k, [...(byGroups.get(k) ?? []), kind])
  }
  const clauses = [...byGroups].map(([groups, kinds]) => {
    const kindTest = kinds.length === 1 ? `r.kind == ${celString(kinds[0] as string)}` : `r.kind in [${kinds.map(celString).join(', ')}]`
    const tests = groups.split(',').map((g) => (g === '' ? `!r.apiVersion.contains('/')` : `r.apiVersion.startsWith(${celString(`${g}/`)})`))
    return `(${kindTest} && ${tests.length === 1 ? tests[0] : `(${tests.join(' || ')})`})`
  })
  return (
    '!has(object.metadata.ownerReferences) ||\n' +
    `!object.metadata.ownerReferences.exists(r, has(r.controller) && r.controller && (\n${clauses.join(' ||\n')}))`
  )
}
