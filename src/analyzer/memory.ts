import { formatPath, type PathSegment } from '../input/field-path.js'
import type { ContainerView } from './pod.js'

/** Memory quantities and the runtime heap settings that must fit under them. */

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 }
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 }

/** A Kubernetes quantity in base units (bytes for memory, cores for CPU), or undefined when malformed. */
export function parseQuantity(q: string): number | undefined {
  const m = /^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?\s*$/.exec(q)
  if (m === null || m[1] === undefined) return undefined
  const n = Number(m[1])
  const suffix = m[2] ?? ''
  const factor = BINARY[suffix] ?? DECIMAL[suffix]
  return factor === undefined ? undefined : n * factor
}

/** A memory quantity that is almost certainly a typo: the milli suffix (`512m` = 0.512 bytes) or under 4Mi. */
export function suspiciousMemory(q: string): string | undefined {
  if (/^\s*[\d.]+m\s*$/.test(q)) return `${q} means ${q.trim().slice(0, -1)} thousandths of a byte (the m suffix is milli); ${q.trim().slice(0, -1)}Mi was probably meant`
  const bytes = parseQuantity(q)
  if (bytes !== undefined && bytes < 4 * 2 ** 20) return `${q} is below 4Mi, too little for any process`
  return undefined
}

export function formatBytes(bytes: number): string {
  for (const [suffix, factor] of [['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]] as const) {
    if (bytes >= factor) {
      const v = bytes / factor
      return `${Number.isInteger(v) ? v : Number(v.toFixed(2))}${suffix}`
    }
  }
  return `${Math.round(bytes)}B`
}

export interface HeapSetting {
  runtime: 'jvm' | 'node' | 'go' | 'dotnet'
  /** The flag as written: `-Xmx2g`, `--max-old-space-size=4096`, `GOMEMLIMIT=900MiB`. */
  flag: string
  /** Where it was found: a field path, with the env variable name for env values. */
  where: string
  /** The heap cap in bytes, when absolute. */
  bytes?: number
  /** -XX:MaxRAMPercentage: the share of the container limit. */
  percent?: number
}

const JVM_ENV = ['JAVA_OPTS', 'JAVA_TOOL_OPTIONS', '_JAVA_OPTIONS', 'JDK_JAVA_OPTIONS', 'CATALINA_OPTS', 'JVM_OPTS', 'JAVA_OPTIONS']

function jvmSize(s: string): number | undefined {
  const m = /^(\d+)([kKmMgGtT]?)$/.exec(s)
  if (m === null || m[1] === undefined) return undefined
  const unit = (m[2] ?? '').toLowerCase()
  const factor = unit === 'k' ? 2 ** 10 : unit === 'm' ? 2 ** 20 : unit === 'g' ? 2 ** 30 : unit === 't' ? 2 ** 40 : 1
  return Number(m[1]) * factor
}

function goSize(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(B|KiB|MiB|GiB|TiB)?$/.exec(s.trim())
  if (m === null || m[1] === undefined) return undefined
  const factor = { B: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40 }[m[2] ?? 'B'] ?? 1
  return Number(m[1]) * factor
}

function scanText(text: string, where: string, out: HeapSetting[]): void {
  for (const m of text.matchAll(/(?:^|\s|["'=])(-Xmx(\d+[kKmMgGtT]?))(?=$|[\s"';])/g)) {
    const bytes = m[2] ? jvmSize(m[2]) : undefined
    if (m[1]) out.push(bytes === undefined ? { runtime: 'jvm', flag: m[1], where } : { runtime: 'jvm', flag: m[1], where, bytes })
  }
  for (const m of text.matchAll(/(-XX:MaxHeapSize=(\d+[kKmMgGtT]?))/g)) {
    const bytes = m[2] ? jvmSize(m[2]) : undefined
    if (m[1]) out.push(bytes === undefined ? { runtime: 'jvm', flag: m[1], where } : { runtime: 'jvm', flag: m[1], where, bytes })
  }
  for (const m of text.matchAll(/(-XX:MaxRAMPercentage=(\d+(?:\.\d+)?))/g)) {
    if (m[1] && m[2]) out.push({ runtime: 'jvm', flag: m[1], where, percent: Number(m[2]) })
  }
  for (const m of text.matchAll(/(--max[-_]old[-_]space[-_]size[= ](\d+))/g)) {
    if (m[1] && m[2]) out.push({ runtime: 'node', flag: m[1], where, bytes: Number(m[2]) * 2 ** 20 })
  }
}

/**
 * The heap caps a container sets for its runtime, from command, args and the environment
 * variables runtimes read. Only the matched flag is reported, never a whole env value.
 */
export function heapSettings(c: ContainerView): HeapSetting[] {
  const out: HeapSetting[] = []
  const at = (...rest: PathSegment[]): string => formatPath([...c.path, ...rest])
  c.command.forEach((s, i) => scanText(s, at('command', i), out))
  c.args.forEach((s, i) => scanText(s, at('args', i), out))
  for (const e of c.env) {
    if (e.value === undefined) continue
    const where = `${at('env', e.index)} (${e.name})`
    if (JVM_ENV.includes(e.name) || e.name === 'NODE_OPTIONS') scanText(e.value, where, out)
    else if (e.name === 'GOMEMLIMIT' && e.value.trim() !== 'off') {
      const bytes = goSize(e.value)
      out.push(bytes === undefined ? { runtime: 'go', flag: `GOMEMLIMIT=${e.value}`, where } : { runtime: 'go', flag: `GOMEMLIMIT=${e.value}`, where, bytes })
    } else if (e.name === 'DOTNET_GCHeapHardLimit' || e.name === 'COMPlus_GCHeapHardLimit') {
      // .NET reads these settings as hexadecimal, with or without 0x.
      const hex = e.value.trim().replace(/^0x/i, '')
      const bytes = /^[0-9a-f]+$/i.test(hex) ? parseInt(hex, 16) : undefined
      out.push(bytes === undefined ? { runtime: 'dotnet', flag: `${e.name}=${e.value}`, where } : { runtime: 'dotnet', flag: `${e.name}=${e.value}`, where, bytes })
    }
  }
  return out
}

/** The heap a setting allows under a given container limit. */
export function effectiveHeap(h: HeapSetting, limitBytes: number | undefined): number | undefined {
  if (h.bytes !== undefined) return h.bytes
  if (h.percent !== undefined && limitBytes !== undefined) return (h.percent / 100) * limitBytes
  return undefined
}
