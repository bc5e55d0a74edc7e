import { defineRule, NO_PARAMS, type RuleFinding } from '../engine/rule.js'
import { Quantity, formatBytes } from '../engine/quantity.js'
import { containerMemoryLimit, runtimesOf, suggestLimit, type RuntimeCap } from '../engine/heap.js'

const MIB = 1n << 20n

/** The fraction of `limit`, rounded down to whole MiB. */
function mibOf(limit: Quantity, num: bigint, den: bigint): bigint {
  return (limit.n * num) / (limit.d * den * MIB)
}

function describe(cap: RuntimeCap): { what: string; why: string } {
  switch (cap.runtime) {
    case 'node':
      return {
        what: 'the Node.js old-space heap cap',
        why: 'V8 lets the heap grow up to it (and needs young generation, code and buffers on top) before it collects hard, so the container is OOMKilled (exit code 137) instead of failing with a JavaScript heap out-of-memory error',
      }
    case 'go':
      return {
        what: 'the Go soft memory limit',
        why: 'the Go garbage collector only works harder as memory nears GOMEMLIMIT, so the container limit is reached first: OOMKilled, exit code 137',
      }
    case 'dotnet':
      return {
        what: 'the .NET GC heap hard limit',
        why: 'the GC lets the heap grow up to it, and the runtime needs memory beyond the heap, so the container is OOMKilled (exit code 137) before the GC reports out of memory',
      }
  }
}

/** A .NET value written like a decimal byte count (digits only, no 0x), which the runtime reads as hexadecimal. */
function decimalMisread(cap: RuntimeCap): Quantity | undefined {
  return cap.runtime === 'dotnet' && /^\d+$/.test(cap.ref.text) ? Quantity.fromInteger(BigInt(cap.ref.text)) : undefined
}

function fixFor(cap: RuntimeCap, limit: Quantity): string {
  const raise = `or raise limits.memory to at least ${formatBytes(suggestLimit(cap.bytes))}`
  switch (cap.runtime) {
    case 'node':
      return `set --max-old-space-size=${mibOf(limit, 3n, 4n)} (75% of the ${formatBytes(limit)} limit, in MiB), ${raise}`
    case 'go':
      return `set GOMEMLIMIT=${mibOf(limit, 9n, 10n)}MiB (90% of the ${formatBytes(limit)} limit), ${raise}`
    case 'dotnet': {
      const bytes = (limit.n * 3n) / (limit.d * 4n)
      const target = `DOTNET_GCHeapHardLimit=0x${bytes.toString(16).toUpperCase()} (hexadecimal for ${formatBytes(Quantity.fromInteger(bytes))}, 75% of the limit), or DOTNET_GCHeapHardLimitPercent=0x4B (75%)`
      const decimal = decimalMisread(cap)
      if (decimal !== undefined) {
        return `the value is read as hexadecimal; if ${formatBytes(decimal)} was meant write 0x${decimal.n.toString(16).toUpperCase()}, and keep it below the limit: ${target}`
      }
      return `set ${target}, ${raise}`
    }
  }
}

export const rule = defineRule({
  id: 'runtime-heap-exceeds-memory-limit',
  title: 'Node.js, Go or .NET heap cap is at or above the memory limit',
  defaultAction: 'deny',
  scope: ['static'],
  params: NO_PARAMS,
  docs: {
    summary: 'A Node.js, Go or .NET heap cap at or above the container memory limit ends in an OOM kill.',
    description:
      'Reads the heap caps other runtimes take from the container: Node.js --max-old-space-size (MiB; in NODE_OPTIONS and then on the node command line, ' +
      'before the script name), Go GOMEMLIMIT (bytes with B, KiB, MiB, GiB or TiB; off means none), and .NET DOTNET_GCHeapHardLimit (or COMPlus_), ' +
      'which the runtime reads as hexadecimal from the environment, with or without 0x: 2147483648 there is 0x2147483648, about 133Gi. ' +
      'A cap at or above the container memory limit is reported. DOTNET_GCHeapHardLimitPercent is honoured only from 1 to 99 and so never reaches the limit. ' +
      'Values from valueFrom or envFrom cannot be known and are not judged; containers without a memory limit are not judged ' +
      '(with cluster state, a namespace LimitRange default counts as the limit).',
    failure:
      'The runtime lets its heap grow up to the cap, but the container limit comes first: the kernel kills the process, OOMKilled, exit code 137, ' +
      'instead of the runtime collecting garbage harder or failing with its own out-of-memory error.',
    fix: 'Keep the cap well below the limit (about 75% for Node.js and .NET, 90% for GOMEMLIMIT), or raise the limit.',
  },
  check(pod, ctx) {
    const findings: RuleFinding[] = []
    for (const c of pod.containers) {
      if (c.kind === 'ephemeralContainer') continue
      const limit = containerMemoryLimit(c, pod, ctx.cluster)
      if (limit === undefined) continue
      const { runtimes } = runtimesOf(c)
      for (const cap of [runtimes.node, runtimes.go, runtimes.dotnet]) {
        if (cap === undefined || cap.bytes.lt(limit.q)) continue
        const { what, why } = describe(cap)
        const decimal = decimalMisread(cap)
        const note = decimal !== undefined ? ` (.NET reads it as hexadecimal, not as ${formatBytes(decimal)})` : ''
        findings.push({
          path: cap.ref.path,
          container: c.name,
          message: `container "${c.name}": ${what} (${cap.how}, from ${cap.ref.where}) is at or above the memory limit (${limit.text})${note}; ${why}`,
          fix: fixFor(cap, limit.q),
        })
      }
    }
    return findings
  },
})
