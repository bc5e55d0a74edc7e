import { defineRule, NO_PARAMS, type RuleFinding } from '../engine/rule.js'
import { containerMemoryLimit, limitRangeMemoryDefault, parseResource, podMemoryLimit, showBytes } from '../engine/heap.js'

export const rule = defineRule({
  id: 'memory-limit-missing',
  title: 'Container has no memory limit',
  defaultAction: 'warn',
  scope: ['static'],
  params: NO_PARAMS,
  docs: {
    summary: 'A container without a memory limit can use the node\'s memory until the node runs out.',
    description:
      'Every app and init container (native sidecars included) should say how much memory it may use with resources.limits.memory. ' +
      'Init containers are checked too: while they run, nothing bounds them either. A limit of 0 sets no limit. ' +
      'A pod-level limit (spec.resources.limits.memory) counts as a bound. ' +
      'A LimitRange in the namespace may add a default limit when the pod is created: with cluster state (live, or --cluster-state) ' +
      'such a default counts as a limit; from the manifest alone it cannot be seen, so there exempt the namespace (or turn the rule off) ' +
      'where a LimitRange default is the intended way to set limits. ' +
      'At admission of a bare Pod the API server has already applied LimitRange defaults before this webhook sees it.',
    failure:
      'The container can grow until the node is short of memory; then the kernel OOM-kills processes on the node and the kubelet evicts pods, ' +
      'and pods without a memory limit (BestEffort or Burstable) are the first to go: Evicted, or OOMKilled with exit code 137.',
    fix: 'Set resources.limits.memory to the container\'s peak use plus headroom, and resources.requests.memory to the same value for a Guaranteed pod.',
  },
  check(pod, ctx) {
    if (podMemoryLimit(pod) !== undefined) return []
    const lrDefault = limitRangeMemoryDefault(pod, ctx.cluster)
    const findings: RuleFinding[] = []
    for (const c of pod.containers) {
      if (c.kind === 'ephemeralContainer') continue
      if (containerMemoryLimit(c) !== undefined) continue
      const raw = c.spec.resources?.limits?.['memory']
      // A limit we cannot read is not a missing one (the API server rejects it anyway); 0 sets none.
      if (raw !== undefined && parseResource(raw) === undefined) continue
      // The LimitRanger fills a missing limit with the namespace default before the pod exists.
      if (raw === undefined && lrDefault !== undefined) continue
      const request = parseResource(c.spec.resources?.requests?.['memory'])
      const what = raw === undefined ? 'has no memory limit' : `has limits.memory ${JSON.stringify(String(raw))}, which sets no limit`
      const role = c.kind === 'initContainer' ? 'init container' : 'container'
      findings.push({
        path: `${c.path}.resources.limits.memory`,
        container: c.name,
        message: `${role} "${c.name}" ${what}: it can use memory until the node runs short, and then it is among the first OOM-killed (exit 137) or evicted`,
        fix:
          request !== undefined && request.n > 0n
            ? `set resources.limits.memory, e.g. to the request (${showBytes(request)}) for a Guaranteed pod, or to the container's measured peak plus headroom`
            : 'set resources.limits.memory (and requests.memory) to the container\'s measured peak plus headroom, e.g. 512Mi',
      })
    }
    return findings
  },
})
