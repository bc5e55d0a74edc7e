import { defineRule, NO_PARAMS, type RuleFinding } from '../engine/rule.js'
import { mapSelectorMatches } from '../engine/labels.js'
import type { RelatedObjects } from '../engine/related.js'
import type { ContainerView, PodView } from '../engine/types.js'

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** A Service's selector as a plain map, or undefined when it has none (or a malformed one). */
function serviceSelector(svc: Record<string, unknown>): Record<string, string> | undefined {
  const spec = svc['spec']
  if (!isRecord(spec)) return undefined
  const sel = spec['selector']
  if (!isRecord(sel)) return undefined
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(sel)) {
    if (typeof v !== 'string') return undefined
    out[k] = v
  }
  return out
}

/** The name of a Service in the run that selects the pod, if any. */
function selectingService(pod: PodView, related: RelatedObjects): string | undefined {
  const labels = pod.podMeta.labels
  if (labels === undefined) return undefined
  for (const svc of related.list('Service', pod.object.namespace)) {
    const sel = serviceSelector(svc)
    if (sel === undefined || !mapSelectorMatches(sel, labels)) continue
    const meta = svc['metadata']
    const name = isRecord(meta) && typeof meta['name'] === 'string' ? meta['name'] : ''
    return name
  }
  return undefined
}

const declaresPorts = (c: ContainerView): boolean => (c.spec.ports ?? []).length > 0

export const rule = defineRule({
  id: 'probe-readiness-missing',
  title: 'Serving container has no readiness probe',
  defaultAction: 'info',
  scope: ['static', 'batch'],
  params: NO_PARAMS,
  docs: {
    summary: 'A long-running container that serves traffic has no readinessProbe.',
    description:
      'Looks at the app containers of long-running workloads (not Jobs, CronJobs or init containers). When the other ' +
      'objects of the run are known, it reports only pods that a Service of the same namespace selects: every ' +
      'container there that declares ports and has no readinessProbe, or, when no container declares ports and none ' +
      'has a readiness probe, every container. Without them it reports the containers that declare ports, since ' +
      'those are the ones likely to serve traffic.',
    failure:
      'Without a readiness probe a container counts as Ready as soon as it has started, so the Service sends it ' +
      'requests before the application can answer them, and keeps doing so when it cannot: connection refused or ' +
      '5xx errors during every start, rollout and overload.',
    fix: 'Add a readinessProbe on the serving port that succeeds only once the application can answer requests.',
  },
  check(pod, ctx) {
    if (!pod.longRunning) return []
    const apps = pod.containers.filter((c) => c.kind === 'container')
    const missing = apps.filter((c) => c.longRunning && c.spec.readinessProbe === undefined)
    if (missing.length === 0) return []
    let service: string | undefined
    let targets: ContainerView[]
    if (ctx.related !== undefined) {
      service = selectingService(pod, ctx.related)
      if (service === undefined) return []
      const anyPorts = apps.some(declaresPorts)
      const anyReadiness = pod.containers.some((c) => c.spec.readinessProbe !== undefined)
      targets = missing.filter((c) => declaresPorts(c) || (!anyPorts && !anyReadiness))
    } else {
      targets = missing.filter(declaresPorts)
    }
    return targets.map(
      (c): RuleFinding => ({
        path: `${c.path}.readinessProbe`,
        container: c.name,
        message:
          service !== undefined
            ? `container "${c.name}" has no readinessProbe while Service "${service}" selects this pod: it gets requests as soon as it starts, before it can answer them (connection refused / 5xx on every start and rollout)`
            : `container "${c.name}" declares ports but has no readinessProbe: any Service in front of it sends requests as soon as it starts, before it can answer them (connection refused / 5xx on every start and rollout)`,
        fix: `add a readinessProbe to container "${c.name}" (e.g. httpGet or tcpSocket on the serving port) that succeeds only once the application can answer requests`,
      }),
    )
  },
})
