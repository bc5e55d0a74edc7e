import { defineRule, NO_PARAMS, type RuleFinding } from '../engine/rule.js'
import { lookup, namespaceOf } from '../cluster/references.js'

function claimTemplateNames(raw: Record<string, unknown>): Set<string> {
  const names = new Set<string>()
  const spec = raw['spec']
  if (typeof spec !== 'object' || spec === null) return names
  const templates = (spec as Record<string, unknown>)['volumeClaimTemplates']
  if (!Array.isArray(templates)) return names
  for (const t of templates) {
    const meta = typeof t === 'object' && t !== null ? (t as Record<string, unknown>)['metadata'] : undefined
    const name = typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>)['name'] : undefined
    if (typeof name === 'string') names.add(name)
  }
  return names
}

export const rule = defineRule({
  id: 'pvc-missing',
  title: 'Referenced PersistentVolumeClaim does not exist',
  defaultAction: 'warn',
  scope: ['batch', 'cluster'],
  params: NO_PARAMS,
  docs: {
    summary: 'A persistentVolumeClaim volume names a claim that does not exist.',
    description:
      'Checks every persistentVolumeClaim volume of the pod (the scheduler looks at all of them, mounted or not). A claim ' +
      'defined in the same run counts as existing; in a StatefulSet, a volume named like one of its volumeClaimTemplates is ' +
      'replaced by the per-pod claim and is not checked. A missing claim is reported only when the namespace is known (live ' +
      'cluster, state files that captured PersistentVolumeClaims, or --complete).',
    failure:
      'The pod stays Pending: FailedScheduling says persistentvolumeclaim "NAME" not found, and it waits until the claim ' +
      'appears.',
    fix: 'Create the PersistentVolumeClaim in the same namespace (or in the same run), correct claimName, or use volumeClaimTemplates in a StatefulSet.',
  },
  check(pod, ctx) {
    const ns = namespaceOf(pod)
    const templates = pod.kind === 'StatefulSet' ? claimTemplateNames(pod.raw) : new Set<string>()
    const out: RuleFinding[] = []
    ;(pod.spec.volumes ?? []).forEach((v, i) => {
      const claim = v.persistentVolumeClaim?.claimName
      if (claim === undefined || claim === '') return
      if (v.name !== undefined && templates.has(v.name)) return
      const p = lookup('PersistentVolumeClaim', ns, claim, ctx)
      if (p.state !== 'missing') return
      out.push({
        path: `${pod.specPath}.volumes[${i}].persistentVolumeClaim.claimName`,
        message: `volume "${v.name ?? ''}" uses PersistentVolumeClaim "${claim}", which does not exist in namespace "${ns}" ${p.where}: the pod stays Pending (FailedScheduling: persistentvolumeclaim "${claim}" not found)`,
        fix: `create PersistentVolumeClaim "${claim}" in namespace "${ns}" before the workload, or correct claimName`,
      })
    })
    return out
  },
})
