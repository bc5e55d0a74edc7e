import { defineRule, NO_PARAMS, type RuleFinding } from '../engine/rule.js'
import { selectorMatches } from '../engine/labels.js'
import { schedule, topologyDomains, AUTOSCALER_NOTE } from '../cluster/scheduling.js'

export const rule = defineRule({
  id: 'anti-affinity-exceeds-nodes',
  title: 'More replicas than topology domains for required anti-affinity',
  defaultAction: 'warn',
  scope: ['cluster'],
  params: NO_PARAMS,
  docs: {
    summary: 'Required pod anti-affinity against its own replicas asks for more topology domains than the eligible nodes offer.',
    description:
      'For each requiredDuringSchedulingIgnoredDuringExecution pod anti-affinity term whose selector matches the pod\'s own ' +
      'labels (the usual "one replica per node / per zone" pattern), counts the distinct values of the topologyKey among ' +
      'the nodes the pod could run on (selector, affinity, taints, readiness and size). With more replicas (or Job ' +
      'parallelism) than domains, the rest cannot be placed. Nodes without the topologyKey label do not limit the count, ' +
      'so the rule stays silent when any eligible node lacks it. It warns because an autoscaler may add nodes.',
    failure: 'The extra replicas stay Pending with FailedScheduling "didn\'t match pod anti-affinity rules"; a rolling update may stall too.',
    fix: 'Lower replicas to the number of domains, use preferredDuringSchedulingIgnoredDuringExecution or topologySpreadConstraints, or add nodes (zones).',
  },
  check(pod, ctx) {
    const view = ctx.cluster
    const terms = pod.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution
    const replicas = pod.replicas
    if (view === undefined || terms === undefined || replicas === undefined || replicas <= 1) return []
    // When no node takes the pod at all, another scheduling rule says so.
    const r = schedule(pod, view)
    if (r === undefined || r.blockedAt === 'selector' || r.blockedAt === 'affinity' || r.blockedAt === 'taints' || r.blockedAt === 'ready' || r.blockedAt === 'fits') return []
    const ns = pod.object.namespace ?? 'default'
    const labels = pod.podMeta.labels ?? {}
    const out: RuleFinding[] = []
    terms.forEach((term, i) => {
      const key = term.topologyKey
      if (key === undefined || key === '' || term.labelSelector === undefined) return
      if (!selectorMatches(term.labelSelector, labels)) return
      // The term counts the pod's own replicas only when it looks in the pod's namespace.
      if (term.namespaces !== undefined && term.namespaces.length > 0 && !term.namespaces.includes(ns)) return
      if (term.namespaceSelector !== undefined && (term.namespaces ?? []).length === 0) {
        const sel = term.namespaceSelector
        const empty = Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0
        if (!empty) return
      }
      const domains = topologyDomains(pod, view, key, replicas)
      if (domains === undefined || domains.unlimited || replicas <= domains.values.size) return
      out.push({
        path: `${pod.specPath}.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[${i}]`,
        message: `${replicas} replicas must each take a different ${key}, but the ${domains.nodes} eligible node(s) offer only ${domains.values.size}: ${replicas - domains.values.size} replica(s) stay Pending, ${AUTOSCALER_NOTE}`,
        fix: `lower replicas to ${domains.values.size}, switch to preferredDuringSchedulingIgnoredDuringExecution or topologySpreadConstraints, or add nodes with more ${key} values`,
      })
    })
    return out
  },
})
