import { defineRule, NO_PARAMS, type RuleFinding } from '../engine/rule.js'
import { Quantity, formatBytes } from '../engine/quantity.js'
import { parseResource } from '../engine/heap.js'

export const rule = defineRule({
  id: 'ephemeral-storage-limit-missing',
  title: 'Container has no ephemeral-storage limit',
  defaultAction: 'info',
  scope: ['static'],
  params: NO_PARAMS,
  docs: {
    summary: 'Without an ephemeral-storage limit a container can fill the node\'s disk.',
    description:
      'What a container writes to its writable layer, its logs and its emptyDir volumes lives on the node\'s disk. ' +
      'Without resources.limits.ephemeral-storage nothing bounds it until the node itself is short of disk. App and init containers are checked.',
    failure:
      'When the node\'s disk fills up, the node reports DiskPressure and the kubelet evicts pods (status Evicted, "The node was low on resource: ephemeral-storage"), ' +
      'starting with those using the most beyond their request.',
    fix: 'Set resources.limits.ephemeral-storage (and a request) to what the container writes, e.g. 1Gi; the kubelet then evicts only this pod when it goes beyond it.',
  },
  check(pod) {
    const findings: RuleFinding[] = []
    for (const c of pod.containers) {
      if (c.kind === 'ephemeralContainer') continue
      if (c.spec.resources?.limits?.['ephemeral-storage'] !== undefined) continue
      const request = parseResource(c.spec.resources?.requests?.['ephemeral-storage'])
      const role = c.kind === 'initContainer' ? 'init container' : 'container'
      findings.push({
        path: `${c.path}.resources.limits.ephemeral-storage`,
        container: c.name,
        message: `${role} "${c.name}" has no ephemeral-storage limit: its writes, logs and emptyDir volumes can fill the node's disk, and then pods on the node are Evicted`,
        fix:
          request !== undefined && request.n > 0n
            ? `set resources.limits.ephemeral-storage to at least the request (${formatBytes(request)}), e.g. twice it`
            : 'set resources.limits.ephemeral-storage (and requests.ephemeral-storage) to what the container writes, e.g. 1Gi',
      })
    }
    return findings
  },
})
