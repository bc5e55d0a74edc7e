import { defineRule, NO_PARAMS, type RuleFinding } from '../engine/rule.js'
import { Quantity } from '../engine/quantity.js'
import { parseResource, showBytes } from '../engine/heap.js'

export const rule = defineRule({
  id: 'memory-request-below-limit',
  title: 'Memory request is lower than the memory limit',
  defaultAction: 'info',
  scope: ['static'],
  params: NO_PARAMS,
  docs: {
    summary: 'A memory request below the limit lets the node be overcommitted.',
    description:
      'The scheduler places pods by their requests; the limit is only enforced on the node. With requests.memory below limits.memory ' +
      'the node promises less memory than its containers may take. A limit without a request is not reported: Kubernetes then sets the request to the limit.',
    failure:
      'When several containers on a node use more than they requested, the node runs short of memory: containers are OOM-killed (exit 137) ' +
      'or pods are evicted, Burstable ones such as this before Guaranteed ones.',
    fix: 'Set requests.memory equal to limits.memory (a Guaranteed pod if CPU matches too), or lower the limit to what the container really needs.',
  },
  check(pod) {
    const findings: RuleFinding[] = []
    for (const c of pod.containers) {
      if (c.kind === 'ephemeralContainer') continue
      const request = parseResource(c.spec.resources?.requests?.['memory'])
      const limit = parseResource(c.spec.resources?.limits?.['memory'])
      if (request === undefined || limit === undefined || limit.n <= 0n || !request.lt(limit)) continue
      findings.push({
        path: `${c.path}.resources.requests.memory`,
        container: c.name,
        message: `container "${c.name}" requests ${showBytes(request)} of memory but may use up to ${showBytes(limit)}: the scheduler counts only the request, so under node memory pressure it can be OOM-killed (exit 137) or evicted`,
        fix: `set requests.memory to ${String(c.spec.resources?.limits?.['memory'])} (equal to the limit), or lower the limit to what the container needs`,
      })
    }
    return findings
  },
})
