import { defineRule, NO_PARAMS, type RuleFinding } from '../engine/rule.js'
import { containerMemoryLimit, jvmHeapFix, jvmMaxHeap, runtimesOf } from '../engine/heap.js'

export const rule = defineRule({
  id: 'jvm-heap-exceeds-memory-limit',
  title: 'JVM max heap is at or above the memory limit',
  defaultAction: 'deny',
  scope: ['static'],
  params: NO_PARAMS,
  docs: {
    summary: 'A JVM whose max heap is at or above the container memory limit is OOM-killed.',
    description:
      'The JVM max heap is read as HotSpot sizes it: -Xmx or -XX:MaxHeapSize wins; otherwise -XX:MaxRAMPercentage (or the old MaxRAMFraction) of ' +
      '-XX:MaxRAM, or of the container limit. Flags are found in command and args (after $(VAR) expansion), in sh -c scripts (with $VAR resolved ' +
      'from env), and in JAVA_TOOL_OPTIONS, JDK_JAVA_OPTIONS and _JAVA_OPTIONS, in the order the JVM reads them (the last occurrence wins, ' +
      '_JAVA_OPTIONS last). JAVA_OPTS, CATALINA_OPTS, JAVA_OPTS_APPEND, ES_JAVA_OPTS, LS_JAVA_OPTS, KAFKA_HEAP_OPTS and MAVEN_OPTS are read only by start scripts ' +
      '(catalina.sh and the like), which put them on the java command line: they are judged as command-line flags, except when the container runs ' +
      'java itself without passing them on, because the java launcher ignores them. Values from valueFrom or envFrom cannot be known: when one of ' +
      'them could change the result, the rule stays silent. A container without a memory limit is left to jvm-memory-limit-missing; ' +
      'with cluster state, the default limit a namespace LimitRange gives it counts as its limit.',
    failure:
      'The heap alone can fill the limit, and the JVM needs memory beyond it (metaspace, thread stacks, code cache, GC structures, direct buffers): ' +
      'the kernel kills the process when the container reaches its limit: OOMKilled, exit code 137, and CrashLoopBackOff as it happens again.',
    fix: 'Keep the heap at about 75% of the limit: -Xmx set to three quarters of limits.memory, or -XX:MaxRAMPercentage=75 without -Xmx; or raise the limit.',
  },
  check(pod, ctx) {
    const findings: RuleFinding[] = []
    for (const c of pod.containers) {
      if (c.kind === 'ephemeralContainer') continue
      const limit = containerMemoryLimit(c, pod, ctx.cluster)
      if (limit === undefined) continue
      const { jvm } = runtimesOf(c)
      if (jvm.items.length === 0) continue
      const result = jvmMaxHeap(jvm, limit.q)
      if (!result.known || result.heap.ref === undefined || result.heap.basis === 'default') continue
      const heap = result.heap
      if (heap.bytes.lt(limit.q)) continue
      findings.push({
        path: heap.ref?.path ?? limit.path,
        container: c.name,
        message:
          `container "${c.name}": the JVM max heap (${heap.how}, from ${heap.ref?.where ?? 'the JVM default'}) is at or above the memory limit ` +
          `(${limit.text}); the JVM needs room beyond the heap for metaspace, threads and buffers, ` +
          'so the kernel will kill it: OOMKilled, exit code 137',
        fix: jvmHeapFix(heap, limit.q),
      })
    }
    return findings
  },
})
