/**
 * Services and Ingresses against the pods they are meant for: the pod templates of the same
 * run, and (at admission) the pods of the namespace in the cluster view.
 */
import { object, list, record, str, int, intOrString, type ShapeType } from '../engine/shape.js'
import { mapSelectorMatches } from '../engine/labels.js'
import { podTemplatesIn } from '../engine/related.js'
import type { RuleContext, ObjectView } from '../engine/rule.js'
import type { PodView } from '../engine/types.js'
import type { PodInfo } from './view.js'

export const serviceSpecShape = object({
  type: str,
  selector: record(str),
  ports: list(object({ name: str, port: int, protocol: str, targetPort: intOrString })),
})
export type ServiceSpec = ShapeType<typeof serviceSpecShape>

export interface Selected {
  /** Pod templates of the run whose labels the selector matches. */
  templates: PodView[]
  /** Pods of the cluster view whose labels it matches. */
  pods: PodInfo[]
  /** Whether there was anything to judge against (see serviceJudgeable). */
  judgeable: boolean
  /** What was looked at, for messages: "no pod template in this run", "no pod in namespace x". */
  lookedAt: string[]
}

/**
 * The pods a selector picks, and whether "none" can be trusted: in a run, when the run holds
 * pod templates in the namespace (or is complete); in the cluster, when the namespace has pods
 * at all (a Service created before its first workload, as Helm orders them, is not judged).
 */
export function selectPods(selector: Readonly<Record<string, string>>, namespace: string, ctx: RuleContext<unknown>): Selected {
  const out: Selected = { templates: [], pods: [], judgeable: false, lookedAt: [] }
  const related = ctx.related
  if (related !== undefined) {
    const templates = podTemplatesIn(related, namespace)
    out.templates = templates.filter((p) => mapSelectorMatches(selector, p.podMeta.labels))
    if (templates.length > 0 || related.complete) {
      out.judgeable = true
      out.lookedAt.push(`no pod template in this run (namespace "${namespace}")`)
    } else {
      // The pods it was meant for may sit in another namespace of the run: a Service selects
      // only pods of its own namespace, so that is a miss worth naming.
      const elsewhere = (related.workloadNamespaces?.() ?? []).filter(
        (ns) => ns !== namespace && podTemplatesIn(related, ns).some((p) => mapSelectorMatches(selector, p.podMeta.labels)),
      )
      if (elsewhere.length > 0) {
        out.judgeable = true
        out.lookedAt.push(`no pod template in namespace "${namespace}": the matching ones are in ${elsewhere.map((n) => `"${n}"`).join(', ')}, and a Service selects pods of its own namespace only`)
      }
    }
  }
  const view = ctx.cluster
  if (view !== undefined && view.knows('Pod', namespace)) {
    const pods = view.pods(namespace)
    out.pods = pods.filter((p) => mapSelectorMatches(selector, p.labels))
    if (pods.length > 0) {
      out.judgeable = true
      out.lookedAt.push(`no pod in namespace "${namespace}" of the cluster`)
    }
  }
  return out
}

export function namespaceOfObject(o: ObjectView): string {
  return o.object.namespace ?? 'default'
}

/**
 * A Service with a selector, and the pods it selects; undefined for Services the rules skip:
 * without a selector (endpoints managed by hand) or of type ExternalName.
 */
export function serviceSelection(
  o: ObjectView,
  ctx: RuleContext<unknown>,
): { spec: ServiceSpec; selector: Record<string, string>; namespace: string; selected: Selected } | undefined {
  const spec = serviceSpecShape.check(o.raw['spec'], ['spec'], [])
  const selector = spec?.selector
  if (spec === undefined || selector === undefined || Object.keys(selector).length === 0 || spec.type === 'ExternalName') return undefined
  const namespace = namespaceOfObject(o)
  return { spec, selector, namespace, selected: selectPods(selector, namespace, ctx) }
}
