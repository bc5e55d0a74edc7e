import { defineRule, type RuleFinding } from '../engine/rule.js'
import { Quantity, formatBytes } from '../engine/quantity.js'
import { containerMemoryLimit, jvmHeapFix, jvmMaxHeap, jvmSize, runtimesOf, showBytes } from '../engine/heap.js'

interface Params {
  maxHeapPercent: number
  maxRamPercentage: number
}

export const rule = defineRule<Params>({
  id: 'jvm-heap-no-headroom',
  title: 'JVM max heap leaves too little of the memory limit',
  defaultAction: 'warn',
  scope: ['static'],
  params: {
    type: 'object',
    properties: {
      maxHeapPercent: {
        type: 'number',
        exclusiveMinimum: 0,
        maximum: 100,
        default: 75,
        description: 'Report a JVM max heap above this percentage of the container memory limit.',
      },
      maxRamPercentage: {
        type: 'number',
        exclusiveMinimum: 0,
        maximum: 100,
        default: 80,
        description: 'Report -XX:MaxRAMPercentage above this value when it sizes the heap from the container limit.',
      },
    },
    additionalProperties: false,
  },
  docs: {
    summary: 'A JVM heap above 75% of the memory limit (or MaxRAMPercentage above 80) leaves too little room for the rest of the JVM.',
    description:
      'The max heap is found as for jvm-heap-exceeds-memory-limit (which reports heaps at or above the limit; this rule reports the ones just below it). ' +
      'It is reported when it is above maxHeapPercent (75) of the limit, or when -XX:MaxRAMPercentage above maxRamPercentage (80) sizes it. ' +
      'It also reports -XX:-UseContainerSupport without an explicit heap size: the JVM then sizes its heap from the node\'s memory, not from the limit. ' +
      'Containers without a memory limit (with cluster state: without a LimitRange default either), and values that cannot be known (valueFrom, envFrom), are left alone.',
    failure:
      'Metaspace, thread stacks, the code cache, GC structures and direct buffers live outside the heap and grow with load; ' +
      'once heap and non-heap together reach the limit the container is OOMKilled (exit code 137), often only under production traffic.',
    fix: 'Keep the heap at about 75% of the limit (-Xmx, or -XX:MaxRAMPercentage=75), or raise the limit.',
  },
  check(pod, ctx) {
    const maxHeapPercent = Quantity.parse(ctx.params.maxHeapPercent) ?? Quantity.fromInteger(75)
    const maxRamPercentage = Quantity.parse(ctx.params.maxRamPercentage) ?? Quantity.fromInteger(80)
    const findings: RuleFinding[] = []
    for (const c of pod.containers) {
      if (c.kind === 'ephemeralContainer') continue
      const limit = containerMemoryLimit(c, pod, ctx.cluster)
      if (limit === undefined) continue
      const { jvm } = runtimesOf(c)
      if (jvm.items.length === 0) continue
      const result = jvmMaxHeap(jvm, limit.q)
      if (!result.known) {
        if (result.reason === 'node-memory' && result.ref !== undefined) {
          findings.push({
            path: result.ref.path,
            container: c.name,
            message:
              `container "${c.name}": ${result.ref.text} (from ${result.ref.where}) makes the JVM size its heap from the node's memory, not from the ` +
              `${showBytes(limit.q)} limit; on a large node the default heap alone exceeds the limit, and the container is OOMKilled (exit code 137)`,
            fix: `remove ${result.ref.text}, or set the heap explicitly: -Xmx${jvmSize(limit.q.mul(3, 4))}`,
          })
        }
        continue
      }
      const heap = result.heap
      if (heap.basis === 'default' || heap.ref === undefined || heap.bytes.gte(limit.q)) continue
      const share = new Quantity(heap.bytes.n * limit.q.d * 100n, heap.bytes.d * limit.q.n)
      const overShare = share.gt(maxHeapPercent)
      const overRam = heap.percentOfLimit !== undefined && heap.percentOfLimit.gt(maxRamPercentage)
      if (!overShare && !overRam) continue
      const sharePct = Math.round(share.toNumber() * 10) / 10
      const left = formatBytes(limit.q.sub(heap.bytes))
      const why = overShare
        ? `is ${sharePct}% of the memory limit (${limit.text}), above ${ctx.params.maxHeapPercent}%`
        : `comes from -XX:MaxRAMPercentage above ${ctx.params.maxRamPercentage} of the memory limit (${limit.text})`
      findings.push({
        path: heap.ref.path,
        container: c.name,
        message:
          `container "${c.name}": the JVM max heap (${heap.how}, from ${heap.ref.where}) ${why}; that leaves ${left} for metaspace, threads, ` +
          'code cache and direct buffers, and when they grow the container is OOMKilled (exit code 137)',
        fix: jvmHeapFix(heap, limit.q, Math.min(ctx.params.maxHeapPercent, 75)),
      })
    }
    return findings
  },
})
