import { defineRule, NO_PARAMS, type RuleFinding } from '../engine/rule.js'
import type { Quantity } from '../engine/quantity.js'
import { effectivePodResources, fieldKey, formatAmount, aggregate, type ResourceList } from '../cluster/resources.js'
import type { LimitRangeItemInfo } from '../cluster/view.js'

function creator(kind: string): string {
  if (kind === 'Deployment') return 'ReplicaSet'
  if (kind === 'CronJob') return 'Job'
  return kind
}

interface Violation {
  field: 'requests' | 'limits'
  resource: string
  text: string
}

/** The LimitRanger's min, max and maxLimitRequestRatio checks, with its wording. */
function violations(item: LimitRangeItemInfo, per: string, requests: ResourceList, limits: ResourceList): Violation[] {
  const out: Violation[] = []
  const fmt = (k: string, q: Quantity): string => formatAmount(k, q)
  for (const [k, min] of item.min) {
    const req = requests.get(k)
    const lim = limits.get(k)
    if (req === undefined) out.push({ field: 'requests', resource: k, text: `minimum ${k} per ${per} is ${fmt(k, min)}, but no request is set` })
    else if (req.lt(min)) out.push({ field: 'requests', resource: k, text: `minimum ${k} per ${per} is ${fmt(k, min)}, but the request is ${fmt(k, req)}` })
    else if (lim !== undefined && lim.lt(min)) out.push({ field: 'limits', resource: k, text: `minimum ${k} per ${per} is ${fmt(k, min)}, but the limit is ${fmt(k, lim)}` })
  }
  for (const [k, max] of item.max) {
    const req = requests.get(k)
    const lim = limits.get(k)
    if (lim === undefined) out.push({ field: 'limits', resource: k, text: `maximum ${k} per ${per} is ${fmt(k, max)}, but no limit is set` })
    else if (lim.gt(max)) out.push({ field: 'limits', resource: k, text: `maximum ${k} per ${per} is ${fmt(k, max)}, but the limit is ${fmt(k, lim)}` })
    else if (req !== undefined && req.gt(max)) out.push({ field: 'requests', resource: k, text: `maximum ${k} per ${per} is ${fmt(k, max)}, but the request is ${fmt(k, req)}` })
  }
  for (const [k, ratio] of item.maxLimitRequestRatio) {
    const req = requests.get(k)
    const lim = limits.get(k)
    if (req === undefined || req.n === 0n) {
      out.push({ field: 'requests', resource: k, text: `${k} limit/request ratio per ${per} is at most ${ratio.text}, but no request is set (or it is 0)` })
    } else if (lim === undefined || lim.n === 0n) {
      out.push({ field: 'limits', resource: k, text: `${k} limit/request ratio per ${per} is at most ${ratio.text}, but no limit is set (or it is 0)` })
    } else if (lim.gt(req.mul(ratio.n, ratio.d))) {
      const observed = Math.round((lim.toNumber() / req.toNumber()) * 100) / 100
      out.push({ field: 'limits', resource: k, text: `${k} limit/request ratio per ${per} is at most ${ratio.text}, but it is ${observed} (${fmt(k, lim)}/${fmt(k, req)})` })
    }
  }
  return out
}

export const rule = defineRule({
  id: 'limitrange-violation',
  title: 'Requests or limits fall outside a LimitRange',
  defaultAction: 'warn',
  scope: ['cluster'],
  params: NO_PARAMS,
  docs: {
    summary: 'A container\'s (or the pod\'s) requests or limits fall outside a LimitRange of the namespace.',
    description:
      'Applies each LimitRange of the namespace as the LimitRanger admission plugin does: first its defaults (default ' +
      'limits and requests for values the container does not set), then, for type Container, min, max and ' +
      'maxLimitRequestRatio per init and app container, and for type Pod the same on the pod\'s aggregated requests and ' +
      'limits. It also reports a default limit lower than the container\'s own request, which makes the pod invalid.',
    failure:
      'A bare Pod is rejected (Forbidden: "maximum memory usage per Container is 1Gi, but limit is 2Gi"); a Deployment or ' +
      'Job is accepted but its controller cannot create pods (FailedCreate with the same message).',
    fix: 'Bring the requests and limits within the LimitRange (kubectl describe limitrange -n NAMESPACE), or change the LimitRange.',
  },
  check(pod, ctx) {
    const view = ctx.cluster
    if (view === undefined) return []
    const ns = pod.object.namespace ?? 'default'
    if (!view.knows('LimitRange', ns)) return []
    const ranges = view.limitRanges(ns)
    if (ranges.length === 0) return []
    const res = effectivePodResources(pod, view)
    const outcome =
      pod.kind === 'Pod' ? 'the API server rejects the pod (Forbidden)' : `the ${creator(pod.kind)} cannot create pods (FailedCreate: Forbidden)`
    const out = new Map<string, RuleFinding>()
    for (const lr of ranges) {
      for (const item of lr.items) {
        if (item.type === 'Container') {
          pod.containers.forEach((c, i) => {
            const cr = res.containers[i]
            if (c.kind === 'ephemeralContainer' || cr === undefined) return
            for (const v of violations(item, 'Container', cr.requests, cr.limits)) {
              const path = `${c.path}.resources.${v.field}${fieldKey(v.resource)}`
              if (out.has(path)) continue
              out.set(path, {
                path,
                container: c.name,
                message: `container "${c.name}": ${v.text} (LimitRange "${lr.name}" of namespace "${ns}"): ${outcome}`,
                fix: `set resources.${v.field}.${v.resource} of container "${c.name}" within the LimitRange, or change LimitRange "${lr.name}"`,
              })
            }
          })
        } else if (item.type === 'Pod') {
          const req = aggregate({
            init: pod.containers.flatMap((c, i) => (c.kind === 'initContainer' ? [{ sidecar: c.spec.restartPolicy === 'Always', list: res.containers[i]?.requests ?? new Map() }] : [])),
            app: pod.containers.flatMap((c, i) => (c.kind === 'container' ? [res.containers[i]?.requests ?? new Map()] : [])),
          })
          const lim = aggregate({
            init: pod.containers.flatMap((c, i) => (c.kind === 'initContainer' ? [{ sidecar: c.spec.restartPolicy === 'Always', list: res.containers[i]?.limits ?? new Map() }] : [])),
            app: pod.containers.flatMap((c, i) => (c.kind === 'container' ? [res.containers[i]?.limits ?? new Map()] : [])),
          })
          for (const v of violations(item, 'Pod', req, lim)) {
            const path = `${pod.specPath}.containers`
            const key = `${path}/${v.field}/${v.resource}`
            if (out.has(key)) continue
            out.set(key, {
              path,
              message: `${v.text}, summed over the pod's containers (LimitRange "${lr.name}" of namespace "${ns}"): ${outcome}`,
              fix: `bring the pod's total ${v.field}.${v.resource} within LimitRange "${lr.name}", or change the LimitRange`,
            })
          }
        }
      }
    }
    // A default limit below the container's own request makes the pod invalid.
    pod.containers.forEach((c, i) => {
      const cr = res.containers[i]
      if (c.kind === 'ephemeralContainer' || cr === undefined) return
      for (const [k, lr] of cr.defaultedLimits) {
        const req = cr.requests.get(k)
        const lim = cr.limits.get(k)
        if (req === undefined || lim === undefined || !req.gt(lim) || cr.defaultedRequests.has(k)) continue
        const path = `${c.path}.resources.requests${fieldKey(k)}`
        if (out.has(path)) continue
        out.set(path, {
          path,
          container: c.name,
          message: `container "${c.name}" requests ${formatAmount(k, req)} ${k} but sets no limit, and LimitRange "${lr}" gives it the default limit ${formatAmount(k, lim)}, below the request: ${outcome} (request must be less than or equal to the limit)`,
          fix: `set resources.limits.${k} of container "${c.name}" to at least its request`,
        })
      }
    })
    return [...out.values()]
  },
})
