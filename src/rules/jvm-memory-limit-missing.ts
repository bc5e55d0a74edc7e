import { defineRule, NO_PARAMS, type RuleFinding } from '../engine/rule.js'
import { formatBytes } from '../engine/quantity.js'
import { containerMemoryLimit, jvmEvidence, jvmMaxHeap, podMemoryLimit, runtimesOf, suggestLimit } from '../engine/heap.js'

export const rule = defineRule({
  id: 'jvm-memory-limit-missing',
  title: 'JVM container has no memory limit',
  defaultAction: 'warn',
  scope: ['static'],
  params: NO_PARAMS,
  docs: {
    summary: 'A JVM without a container memory limit sizes its heap from the node\'s memory.',
    description:
      'A container is taken to run a JVM when its image is a JDK/JRE or a well-known JVM application (openjdk, eclipse-temurin, amazoncorretto, ' +
      'ibm-semeru-runtimes, tomcat, jetty, maven, gradle, elasticsearch, kafka, zookeeper, cassandra, sonarqube, jenkins, keycloak, wildfly, payara...), ' +
      'when its command runs java, or when it sets JVM options (-Xmx, -XX:..., JAVA_TOOL_OPTIONS, JAVA_OPTS...). ' +
      'Such a container without resources.limits.memory is reported (init containers too). A pod-level memory limit counts as a limit; ' +
      'with cluster state, a namespace LimitRange default limit counts too; from the manifest alone it cannot be seen (see memory-limit-missing).',
    failure:
      'Without a limit the JVM sees the whole node: by default its heap may grow to a quarter of the node\'s memory, and with MaxRAMPercentage ' +
      'much more; several such pods on a node exhaust it, and the node OOM-kills or evicts them (exit code 137, Evicted).',
    fix: 'Set resources.limits.memory (and an equal request), and size the heap from it: -XX:MaxRAMPercentage=75, or -Xmx at about 75% of the limit.',
  },
  check(pod, ctx) {
    if (podMemoryLimit(pod) !== undefined) return []
    const findings: RuleFinding[] = []
    for (const c of pod.containers) {
      if (c.kind === 'ephemeralContainer') continue
      if (containerMemoryLimit(c, pod, ctx.cluster) !== undefined) continue
      const evidence = jvmEvidence(c)
      if (evidence === undefined) continue
      const result = jvmMaxHeap(runtimesOf(c).jvm, undefined)
      const role = c.kind === 'initContainer' ? 'init container' : 'container'
      if (result.known && result.heap.basis === 'explicit') {
        const heap = result.heap
        findings.push({
          path: `${c.path}.resources.limits.memory`,
          container: c.name,
          message:
            `${role} "${c.name}" runs a JVM (${evidence}) with no memory limit: its heap stops at ${heap.how} (${heap.ref?.where ?? ''}), ` +
            'but nothing bounds the rest of the JVM, and under node memory pressure it is among the first OOM-killed (exit 137) or evicted',
          fix: `set resources.limits.memory to at least ${formatBytes(suggestLimit(heap.bytes))} (the heap plus a third for non-heap memory), with an equal request`,
        })
      } else {
        findings.push({
          path: `${c.path}.resources.limits.memory`,
          container: c.name,
          message:
            `${role} "${c.name}" runs a JVM (${evidence}) with no memory limit: the JVM sizes its heap from the node's memory, ` +
            'so it can grow until the node runs short, and then it is OOM-killed (exit 137) or evicted',
          fix: 'set resources.limits.memory (e.g. 1Gi, with an equal request) and size the heap from it with -XX:MaxRAMPercentage=75',
        })
      }
    }
    return findings
  },
})
