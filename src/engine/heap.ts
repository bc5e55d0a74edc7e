/**
 * Runtime heap settings of a container, found where each runtime really reads them.
 *
 * - JVM: `-Xmx`, `-XX:MaxHeapSize`, `-XX:MaxRAM`, `-XX:MaxRAMPercentage`/`MinRAMPercentage`
 *   (and the old `...Fraction` forms), `-XX:±UseContainerSupport`; in command and args (after the
 *   kubelet's `$(VAR)` expansion), inside `sh -c` scripts (with `$VAR` resolved from env and from
 *   assignments in the script), and in the variables the JVM or its start scripts read. The JVM
 *   reads JAVA_TOOL_OPTIONS first, then its command line (the java launcher puts JDK_JAVA_OPTIONS
 *   in front of it), then _JAVA_OPTIONS; the last occurrence of a flag wins. JAVA_OPTS,
 *   CATALINA_OPTS and the like are read only by start scripts (catalina.sh, run-java.sh...), which
 *   put them on the command line: they count as command-line flags placed before the container's
 *   own, and not at all when the container runs `java` itself without referring to them (the
 *   launcher ignores them).
 * - Node.js `--max-old-space-size` (MiB), in NODE_OPTIONS and then on the command line.
 * - Go `GOMEMLIMIT` (bytes, B/KiB/MiB/GiB/TiB, or `off`).
 * - .NET `DOTNET_GCHeapHardLimit` (hexadecimal in the environment, with or without 0x) and
 *   `DOTNET_GCHeapHardLimitPercent` (hexadecimal too; only 1-99 is honoured); COMPlus_ prefix too.
 *
 * Values that cannot be known (valueFrom, names possibly defined by envFrom, `$(cmd)` in a script,
 * `@argfiles`) are recorded as unknown: a result they could change is reported as unknown, never
 * guessed. The analysis of a container is computed once and cached for the rules that share it.
 */
import { RecentAnswers } from './recent.js'
import type { Container } from './k8s.js'
import type { ContainerView, PodView } from './types.js'
import type { ClusterView } from '../cluster/view.js'
import { containerEnv, type ContainerEnv } from './env.js'
import { Quantity, formatBytes, MEBIBYTE } from './quantity.js'

// ---------------------------------------------------------------------------------------------
// Where a setting is written

/** A setting as written, with its place. */
export interface FlagRef {
  /** The option or value as written after expansion, e.g. `-Xmx2g`, `4096MiB`. */
  text: string
  /** The full field path where it is written, e.g. `spec.containers[0].env[1].value`. */
  path: string
  /** The place in words, for messages: `env JAVA_OPTS`, `args[1]`, `the shell script in command[2]`. */
  where: string
}

interface Src {
  path: string
  where: string
}

interface Word {
  text: string
  src: Src
  /** The value cannot be known (valueFrom, envFrom, command substitution). */
  unknown: boolean
}

/** A token of a command line: a word, or null between two commands of a script. */
type Tok = Word | null

/** A variable as the container (or its script) sees it: text undefined when unknowable. */
interface VarValue {
  text: string | undefined
  src: Src
}

const WS = /[ \t\r\n]+/

/**
 * Stands for the value of a fieldRef or resourceFieldRef variable: unknown, but never an option by
 * itself (a pod name, an IP, a number). A flag whose value holds it, or a `$(VAR)` the kubelet
 * left as it was (`-Xmx$(HEAP)`), is unknown.
 */
const OPAQUE = '\u0001'
function opaqueFlag(text: string, prefix: string): boolean {
  return text.startsWith(prefix) && (text.includes(OPAQUE) || text.includes('$('))
}

/** JVM options read by the JVM itself, in the order it reads them around the command line. */
const JVM_ENV_BEFORE = ['JAVA_TOOL_OPTIONS', 'JDK_JAVA_OPTIONS'] as const
const JVM_ENV_AFTER = ['_JAVA_OPTIONS'] as const
/**
 * Variables that start scripts put on the java command line: catalina.sh (JAVA_OPTS, then
 * CATALINA_OPTS), the Red Hat/Keycloak run scripts (JAVA_OPTS_APPEND), Elasticsearch
 * (ES_JAVA_OPTS), Logstash (LS_JAVA_OPTS), the Kafka scripts (KAFKA_HEAP_OPTS), mvn (MAVEN_OPTS).
 */
export const JVM_SCRIPT_ENV: readonly string[] = ['JAVA_OPTS', 'JAVA_OPTS_APPEND', 'CATALINA_OPTS', 'ES_JAVA_OPTS', 'LS_JAVA_OPTS', 'KAFKA_HEAP_OPTS', 'MAVEN_OPTS']
const JVM_ENV_ALL: readonly string[] = [...JVM_ENV_BEFORE, ...JVM_SCRIPT_ENV, ...JVM_ENV_AFTER]

// ---------------------------------------------------------------------------------------------
// Sizes as each runtime writes them

const GIB = 1n << 30n
const JVM_SIZE_RE = /^(\d+)([kKmMgGtT]?)$/
const JVM_SHIFT: Record<string, bigint> = { '': 0n, k: 10n, m: 20n, g: 30n, t: 40n }

/** A JVM size (`-Xmx2g`, `-XX:MaxRAM=1073741824`): binary units k/m/g/t in either case, bytes without. */
export function parseJvmSize(text: string): Quantity | undefined {
  const m = JVM_SIZE_RE.exec(text)
  if (m === null) return undefined
  const shift = JVM_SHIFT[(m[2] ?? '').toLowerCase()] ?? 0n
  return Quantity.fromInteger(BigInt(m[1] ?? '0') << shift)
}

const PERCENT_RE = /^(\d+\.?\d*|\.\d+)$/

/** A JVM percentage flag value (a double such as `75` or `75.0`), as an exact fraction. */
export function parseJvmPercent(text: string): Quantity | undefined {
  return PERCENT_RE.test(text) ? Quantity.parse(text) : undefined
}

const GO_SIZE_RE = /^(\d+)((?:[KMGT]i)?B)?$/
const GO_SHIFT: Record<string, bigint> = { '': 0n, B: 0n, KiB: 10n, MiB: 20n, GiB: 30n, TiB: 40n }

/** GOMEMLIMIT as the Go runtime parses it: `^[0-9]+(([KMGT]i)?B)?$`, or `off`. Undefined when malformed. */
export function parseGoMemLimit(text: string): Quantity | 'off' | undefined {
  if (text === 'off') return 'off'
  const m = GO_SIZE_RE.exec(text)
  if (m === null) return undefined
  return Quantity.fromInteger(BigInt(m[1] ?? '0') << (GO_SHIFT[m[2] ?? ''] ?? 0n))
}

const HEX_RE = /^(?:0[xX])?([0-9a-fA-F]+)$/

/** A .NET GC setting from the environment: always hexadecimal, with or without `0x`. */
export function parseDotnetHex(text: string): bigint | undefined {
  const m = HEX_RE.exec(text.trim())
  return m === null ? undefined : BigInt(`0x${m[1] ?? '0'}`)
}

/** A size in the JVM's notation, rounded down to whole MiB: `1536m`, `3g`. */
export function jvmSize(bytes: Quantity): string {
  const mib = bytes.n / (bytes.d * MEBIBYTE.n)
  const whole = mib < 1n ? 1n : mib
  return whole % 1024n === 0n ? `${whole / 1024n}g` : `${whole}m`
}

/** A quantity as written, followed by its binary value when that reads differently: `2G (1.86Gi)`. */
export function showBytes(q: Quantity): string {
  const f = formatBytes(q)
  return f === q.text || q.text === '' ? f : `${q.text} (${f})`
}

/** The smallest limit, in steps of 256Mi (64Mi below 1Gi), at which `heap` is at most `percent`% of it. */
export function suggestLimit(heap: Quantity, percent = 75): Quantity {
  const pct = Quantity.parse(percent) ?? Quantity.fromInteger(75)
  const bytes = new Quantity(heap.n * 100n * pct.d, heap.d * pct.n)
  const step = bytes.gte(Quantity.fromInteger(GIB)) ? 256n << 20n : 64n << 20n
  const steps = (bytes.ceil() + step - 1n) / step
  return Quantity.fromInteger(steps * step)
}

// ---------------------------------------------------------------------------------------------
// Memory limits

/** A resource value as a Quantity: Quantity.parse memoises, in a cache bounded in bytes. */
export function parseResource(raw: unknown): Quantity | undefined {
  return Quantity.parse(raw)
}

export interface ResourceValue {
  q: Quantity
  /** Full path of the field (for a LimitRange default: the container's own, absent, field). */
  path: string
}

export interface MemoryLimit extends ResourceValue {
  /** The limit in words for messages: `2Gi at spec.containers[0].resources.limits.memory` (computed when read). */
  readonly text: string
  /** Set when the limit is the default of a namespace LimitRange. */
  limitRange?: string
}

/**
 * The default memory limit a LimitRange of the pod's namespace gives containers without one;
 * only known with cluster state (live, or state files). The LimitRanger admission plugin applies
 * the first Container default it finds, to app and init containers alike.
 */
export function limitRangeMemoryDefault(pod: PodView, cluster: ClusterView | undefined): { name: string; q: Quantity } | undefined {
  if (cluster === undefined || !cluster.synced) return undefined
  const namespace = pod.object.namespace ?? 'default'
  if (!cluster.knows('LimitRange', namespace)) return undefined
  for (const lr of cluster.limitRanges(namespace)) {
    for (const item of lr.items) {
      const value = item.type === 'Container' ? item.default.get('memory') : undefined
      if (value !== undefined && value.n > 0n) return { name: lr.name, q: value }
    }
  }
  return undefined
}

/**
 * The memory limit the container will run with: its own resources.limits.memory (zero sets
 * none), or, when it sets none and the cluster state is known, the default a namespace
 * LimitRange adds when the pod is created. Statically a LimitRange default cannot be seen. (At
 * admission of a bare Pod the API server has already applied it.)
 */
export function containerMemoryLimit(c: ContainerView, pod?: PodView, cluster?: ClusterView): MemoryLimit | undefined {
  const raw = c.spec.resources?.limits?.['memory']
  if (raw === undefined) {
    const d = pod === undefined ? undefined : limitRangeMemoryDefault(pod, cluster)
    if (d === undefined) return undefined
    return {
      q: d.q,
      path: `${c.path}.resources.limits.memory`,
      limitRange: d.name,
      get text() {
        return `${showBytes(d.q)}, the default of LimitRange "${d.name}"`
      },
    }
  }
  // The container's own limit does not depend on the pod or the cluster: the rules of one
  // evaluation share it (a small ring of the containers seen last, compared by identity).
  return recentLimits.get(c.spec, c.path, raw, undefined, ownMemoryLimit)
}

const recentLimits = new RecentAnswers<Container, string, string | number, MemoryLimit | undefined>(16)

function ownMemoryLimit(_spec: Container, containerPath: string, raw: string | number): MemoryLimit | undefined {
  const q = parseResource(raw)
  if (q === undefined || q.n <= 0n) return undefined
  const path = `${containerPath}.resources.limits.memory`
  // Messages are rare; the text is only built when one needs it.
  return {
    q,
    path,
    get text() {
      return `${showBytes(q)} at ${path}`
    },
  }
}

const POD_LIMIT_PATH = ['spec', 'resources', 'limits', 'memory']
/** The path of the pod-level limit under other spec paths (`spec.template.spec`…): a few, kept. */
const podLimitPaths = new Map<string, readonly string[]>()
function podLimitPath(specPath: string): readonly string[] {
  let path = podLimitPaths.get(specPath)
  if (path === undefined) {
    path = [...specPath.split('.'), 'resources', 'limits', 'memory']
    if (podLimitPaths.size >= 64) podLimitPaths.clear()
    podLimitPaths.set(specPath, path)
  }
  return path
}

/**
 * A pod-level memory limit (`spec.resources.limits.memory`, Kubernetes 1.32+ PodLevelResources):
 * it bounds the containers that set none. Read from the raw object, as the checked shapes do not
 * carry it.
 */
export function podMemoryLimit(pod: PodView): ResourceValue | undefined {
  let cur: unknown = pod.raw
  for (const seg of pod.specPath === 'spec' ? POD_LIMIT_PATH : podLimitPath(pod.specPath)) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined
    cur = (cur as Record<string, unknown>)[seg]
  }
  const q = parseResource(cur)
  return q === undefined || q.n <= 0n ? undefined : { q, path: `${pod.specPath}.resources.limits.memory` }
}

// ---------------------------------------------------------------------------------------------
// JVM images

/** Repositories whose last path component starts with one of these (then `-`, `_`, `.`, a digit or the end) ship a JDK/JRE. */
const JDK_PREFIXES = [
  'openjdk', 'eclipse-temurin', 'temurin', 'amazoncorretto', 'corretto', 'ibmjava', 'ibm-semeru-runtimes', 'semeru',
  'adoptopenjdk', 'zulu', 'zulu-openjdk', 'liberica-openjdk', 'liberica-runtime', 'sapmachine', 'graalvm', 'graalvm-ce',
  'jdk', 'jre', 'java', 'server-jre', 'serverjre', 'ubi8-openjdk', 'ubi9-openjdk',
]
/** Repositories whose last path component is exactly one of these run a JVM application. */
const JVM_APP_NAMES = new Set([
  'tomcat', 'tomee', 'jetty', 'maven', 'gradle', 'elasticsearch', 'logstash', 'opensearch', 'kafka', 'cp-kafka',
  'cp-server', 'cp-zookeeper', 'cp-schema-registry', 'cp-kafka-connect', 'cp-kafka-rest', 'cp-ksqldb-server',
  'zookeeper', 'cassandra', 'sonarqube', 'jenkins', 'inbound-agent', 'keycloak', 'wildfly', 'open-liberty',
  'websphere-liberty', 'neo4j', 'solr', 'flink', 'nexus3', 'activemq', 'activemq-artemis', 'nifi', 'trino', 'spark',
  'hivemq4',
])
/** Repositories matched on their whole path (the last component alone is too generic). */
const JVM_APP_PATHS = ['payara/server-full', 'payara/server-web', 'payara/micro', 'jboss/wildfly', 'jboss/keycloak']

/** The repository path of an image reference, lower case, without registry host, tag and digest. */
function repositoryPath(image: string): string {
  let ref = image.trim().toLowerCase()
  const at = ref.indexOf('@')
  if (at >= 0) ref = ref.slice(0, at)
  const colon = ref.lastIndexOf(':')
  if (colon > ref.lastIndexOf('/')) ref = ref.slice(0, colon)
  const parts = ref.split('/')
  const first = parts[0] ?? ''
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) parts.shift()
  return parts.join('/')
}

/** True when the image is a JDK/JRE image or a well-known JVM application (Tomcat, Kafka, Elasticsearch...). */
export function isJvmImage(image: string | undefined): boolean {
  if (image === undefined || image === '') return false
  const path = repositoryPath(image)
  const name = path.slice(path.lastIndexOf('/') + 1)
  if (JVM_APP_NAMES.has(name)) return true
  if (JVM_APP_PATHS.some((p) => path === p || path.endsWith(`/${p}`))) return true
  for (const p of JDK_PREFIXES) {
    if (!name.startsWith(p)) continue
    const next = name.charAt(p.length)
    if (next === '' || next === '-' || next === '_' || next === '.' || (next >= '0' && next <= '9')) return true
  }
  return false
}

// ---------------------------------------------------------------------------------------------
// Command lines: kubelet expansion, shell scripts, java/node invocations
//
// Written without per-call closures: this runs for every container of every admission request.

/** The container's variables as the command line sees them. */
class EnvLookup {
  constructor(
    readonly env: ContainerEnv,
    readonly containerPath: string,
  ) {}

  get(name: string): VarValue | undefined {
    const entry = this.env.vars.get(name)
    if (entry === undefined) {
      // envFrom may define it, with a value we cannot see.
      return this.env.hasEnvFrom ? { text: undefined, src: { path: `${this.containerPath}.envFrom`, where: 'envFrom' } } : undefined
    }
    if (entry.value === undefined) {
      const src = { path: entry.path, where: `env ${name} (${entry.from ?? 'valueFrom'})` }
      return entry.from === 'fieldRef' || entry.from === 'resourceFieldRef' ? { text: OPAQUE, src } : { text: undefined, src }
    }
    return { text: entry.value, src: { path: `${entry.path}.value`, where: `env ${name}` } }
  }
}

interface Piece {
  text: string
  src: Src
}

interface Expanded {
  pieces: Piece[]
  /** Set when a referenced value cannot be known. */
  unknown?: Src
}

/** `$(VAR)` expansion as the kubelet does it (see env.ts), keeping where each piece of text comes from. */
function kubeletExpand(text: string, src: Src, vars: EnvLookup, referenced: Set<string>): Expanded {
  if (!text.includes('$(')) return { pieces: [{ text: text.includes('$$') ? text.replaceAll('$$', '$') : text, src }] }
  const out: Expanded = { pieces: [] }
  let lit = ''
  let i = 0
  while (i < text.length) {
    const ch = text.charAt(i)
    if (ch === '$' && text.charAt(i + 1) === '$') {
      lit += '$'
      i += 2
      continue
    }
    if (ch === '$' && text.charAt(i + 1) === '(') {
      const close = text.indexOf(')', i + 2)
      if (close > 0) {
        const name = text.slice(i + 2, close)
        const v = vars.get(name)
        if (v === undefined) {
          lit += text.slice(i, close + 1)
        } else {
          referenced.add(name)
          if (v.text === undefined) out.unknown ??= v.src
          else {
            if (lit !== '') out.pieces.push({ text: lit, src })
            lit = ''
            out.pieces.push({ text: v.text, src: v.src })
          }
        }
        i = close + 1
        continue
      }
    }
    lit += ch
    i++
  }
  if (lit !== '') out.pieces.push({ text: lit, src })
  return out
}

/** Splits expanded text into words at whitespace; a word belongs to the piece its last character came from. */
function splitPieces(pieces: readonly Piece[], out: Word[]): void {
  let cur = ''
  let src: Src | undefined
  for (const p of pieces) {
    const parts = p.text.split(WS)
    for (let k = 0; k < parts.length; k++) {
      const part = parts[k] ?? ''
      if (k > 0 && cur !== '' && src !== undefined) {
        out.push({ text: cur, src, unknown: false })
        cur = ''
      }
      if (part !== '') {
        cur += part
        src = p.src
      }
    }
  }
  if (cur !== '' && src !== undefined) out.push({ text: cur, src, unknown: false })
}

/** The words of an env value (or of its unknown marker). */
function valueWords(v: VarValue): Word[] {
  if (v.text === undefined) return [{ text: '', src: v.src, unknown: true }]
  const out: Word[] = []
  splitPieces([{ text: v.text, src: v.src }], out)
  return out
}

// --- shell scripts ---------------------------------------------------------------------------

type Seg =
  | { k: 'lit'; text: string; src: Src }
  | { k: 'var'; name: string; dflt?: string; colon: boolean; src: Src }
  | { k: 'pos'; which: string; src: Src }
  | { k: 'unknown'; src: Src }

type RawWord = Seg[]
/** null separates commands. */
type RawTok = RawWord | null

const SHELLS = new Set(['sh', 'bash', 'ash', 'dash', 'zsh', 'ksh', 'mksh'])
const SHELL_C_FLAG = /^-[a-zA-Z]*c[a-zA-Z]*$/
const NAME_RE = /[A-Za-z_][A-Za-z0-9_]*/y
const ASSIGN_RE = /^([A-Za-z_][A-Za-z0-9_]*)=/
const BRACE_VAR_RE = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?)[-=](.*))?$/s
const POSITIONAL_RE = /^[0-9@*]$/
const FD_RE = /^\d+$/
const EXPORT_WORDS = new Set(['export', 'readonly', 'declare', 'typeset', 'local'])

/** Where each character of a script comes from: the script itself, or a value the kubelet put in. */
class SourceMap {
  private readonly ends: number[] = []

  constructor(
    private readonly pieces: readonly Piece[],
    private readonly script: Src,
    private readonly own: Src,
  ) {
    let total = 0
    for (const p of pieces) this.ends.push((total += p.text.length))
  }

  at(i: number): Src {
    if (this.pieces.length === 1) return this.script
    let k = 0
    while (k < this.ends.length - 1 && i >= (this.ends[k] ?? 0)) k++
    const p = this.pieces[k]
    return p === undefined || p.src === this.own ? this.script : p.src
  }
}

/** Reads a shell script into words made of literal, variable and unknown segments. */
class ScriptLexer {
  readonly toks: RawTok[] = []
  private word: Seg[] = []
  private started = false
  private skipNext = false

  constructor(
    private readonly s: string,
    private readonly srcs: SourceMap,
  ) {}

  private lit(text: string, i: number): void {
    const src = this.srcs.at(i)
    const last = this.word[this.word.length - 1]
    if (last !== undefined && last.k === 'lit' && last.src === src) last.text += text
    else this.word.push({ k: 'lit', text, src })
    this.started = true
  }

  private add(seg: Seg): void {
    this.word.push(seg)
    this.started = true
  }

  private endWord(): void {
    if (this.started) {
      if (this.skipNext) this.skipNext = false
      else this.toks.push(this.word)
    }
    this.word = []
    this.started = false
  }

  private sep(): void {
    this.endWord()
    if (this.toks.length > 0 && this.toks[this.toks.length - 1] !== null) this.toks.push(null)
  }

  /** Parses a `$` expansion at i; returns the index after it. */
  private dollar(i: number): number {
    const s = this.s
    const next = s.charAt(i + 1)
    if (next === '(') {
      let depth = 0
      let j = i + 1
      for (; j < s.length; j++) {
        const c = s.charAt(j)
        if (c === '(') depth++
        else if (c === ')' && --depth === 0) break
      }
      this.add({ k: 'unknown', src: this.srcs.at(i) })
      return j + 1
    }
    if (next === '{') {
      const close = s.indexOf('}', i + 2)
      if (close < 0) {
        this.lit('$', i)
        return i + 1
      }
      const body = s.slice(i + 2, close)
      const m = BRACE_VAR_RE.exec(body)
      if (m !== null) {
        const seg: Seg = { k: 'var', name: m[1] ?? '', colon: m[2] === ':', src: this.srcs.at(i) }
        if (m[3] !== undefined) seg.dflt = m[3]
        this.add(seg)
      } else if (POSITIONAL_RE.test(body)) this.add({ k: 'pos', which: body, src: this.srcs.at(i) })
      else this.add({ k: 'unknown', src: this.srcs.at(i) })
      return close + 1
    }
    NAME_RE.lastIndex = i + 1
    const m = NAME_RE.exec(s)
    if (m !== null) {
      this.add({ k: 'var', name: m[0], colon: false, src: this.srcs.at(i) })
      return i + 1 + m[0].length
    }
    if (POSITIONAL_RE.test(next)) {
      this.add({ k: 'pos', which: next, src: this.srcs.at(i) })
      return i + 2
    }
    if (next !== '' && '#?$!-'.includes(next)) {
      this.lit('0', i)
      return i + 2
    }
    this.lit('$', i)
    return i + 1
  }

  run(): RawTok[] {
    const s = this.s
    let i = 0
    while (i < s.length) {
      const c = s.charAt(i)
      if (c === ' ' || c === '\t' || c === '\r') {
        this.endWord()
        i++
      } else if (c === '\n' || c === ';' || c === '&' || c === '|' || c === '(' || c === ')') {
        this.sep()
        i++
      } else if (c === '#' && !this.started) {
        const nl = s.indexOf('\n', i)
        i = nl < 0 ? s.length : nl
      } else if (c === '<' || c === '>') {
        // A redirection: drop a file-descriptor number just before it, and the word after it.
        const only = this.word[0]
        if (this.word.length === 1 && only?.k === 'lit' && FD_RE.test(only.text)) {
          this.word = []
          this.started = false
        }
        this.endWord()
        while (i < s.length && '<>&'.includes(s.charAt(i))) i++
        this.skipNext = true
      } else if (c === '\\') {
        if (s.charAt(i + 1) !== '\n') this.lit(s.charAt(i + 1), i + 1)
        i += 2
      } else if (c === "'") {
        const close = s.indexOf("'", i + 1)
        const end = close < 0 ? s.length : close
        this.lit(s.slice(i + 1, end), i + 1)
        i = end + 1
      } else if (c === '"') {
        this.lit('', i)
        i++
        while (i < s.length && s.charAt(i) !== '"') {
          const d = s.charAt(i)
          if (d === '\\' && '$`"\\\n'.includes(s.charAt(i + 1))) {
            if (s.charAt(i + 1) !== '\n') this.lit(s.charAt(i + 1), i + 1)
            i += 2
          } else if (d === '$') {
            i = this.dollar(i)
          } else if (d === '`') {
            const close = s.indexOf('`', i + 1)
            this.add({ k: 'unknown', src: this.srcs.at(i) })
            i = close < 0 ? s.length : close + 1
          } else {
            this.lit(d, i)
            i++
          }
        }
        i++
      } else if (c === '$') {
        i = this.dollar(i)
      } else if (c === '`') {
        const close = s.indexOf('`', i + 1)
        this.add({ k: 'unknown', src: this.srcs.at(i) })
        i = close < 0 ? s.length : close + 1
      } else {
        this.lit(c, i)
        i++
      }
    }
    this.endWord()
    return this.toks
  }
}

/** Builds the fields of one shell word. */
class Fields {
  private cur = ''
  private src: Src | undefined
  private unknown = false
  private started = false

  constructor(private readonly out: Word[]) {}

  /** Ends the current field. */
  push(): void {
    if ((this.started || this.unknown) && this.src !== undefined) this.out.push({ text: this.cur, src: this.src, unknown: this.unknown })
    this.cur = ''
    this.src = undefined
    this.unknown = false
    this.started = false
  }

  literal(text: string, src: Src): void {
    this.cur += text
    this.src = src
    this.started = true
  }

  markUnknown(src: Src): void {
    this.unknown = true
    this.src = src
  }

  /** An expansion: split at whitespace unless `split` is false (assignments). */
  expansion(text: string, src: Src, split: boolean): void {
    if (!split) {
      this.literal(text, src)
      return
    }
    const parts = text.split(WS)
    for (let k = 0; k < parts.length; k++) {
      if (k > 0) this.push()
      const part = parts[k] ?? ''
      if (part !== '') this.literal(part, src)
    }
  }

  /** Whole words (positional parameters): "$@" adds no empty word around them. */
  words(words: readonly Word[]): void {
    if (this.cur !== '' || this.unknown) this.push()
    this.started = false
    for (const w of words) this.out.push(w)
  }
}

/**
 * Expands a lexed script: assignments update the script's variables; other words expand with
 * field splitting of expansions (also inside quotes: `java "$JAVA_OPTS"` is read as the options
 * it lists). `$@`, `$1`... are the words after the script and its `$0`.
 */
class ScriptRunner {
  readonly toks: Tok[] = []
  /** Values assigned in the script (the last assignment), for the variables runtimes read. */
  readonly assigned = new Map<string, VarValue>()

  constructor(
    private readonly vars: EnvLookup,
    private readonly positional: readonly Word[][],
    private readonly referenced: Set<string>,
  ) {}

  private get(name: string): VarValue | undefined {
    return this.assigned.get(name) ?? this.vars.get(name)
  }

  private expandWord(w: RawWord, split: boolean, out: Word[], note: boolean): void {
    const f = new Fields(out)
    for (const seg of w) {
      if (seg.k === 'lit') f.literal(seg.text, seg.src)
      else if (seg.k === 'unknown') f.markUnknown(seg.src)
      else if (seg.k === 'pos') {
        if (seg.which === '@' || seg.which === '*') for (const words of this.positional.slice(1)) f.words(words)
        else f.words(this.positional[Number(seg.which)] ?? [])
      } else {
        if (note) this.referenced.add(seg.name)
        const v = this.get(seg.name)
        const empty = v === undefined || (seg.colon && v.text === '')
        if (empty && seg.dflt !== undefined) f.expansion(seg.dflt, seg.src, split)
        else if (v !== undefined && v.text === undefined) f.markUnknown(v.src)
        else if (v !== undefined && v.text !== undefined) f.expansion(v.text, v.src, split)
      }
    }
    f.push()
  }

  private assign(w: RawWord): void {
    const first = w[0]
    if (first === undefined || first.k !== 'lit') return
    const m = ASSIGN_RE.exec(first.text)
    if (m === null) return
    const rest: RawWord = [{ k: 'lit', text: first.text.slice(m[0].length), src: first.src }, ...w.slice(1)]
    const out: Word[] = []
    this.expandWord(rest, false, out, false)
    const value = out[0]
    this.assigned.set(m[1] ?? '', value === undefined ? { text: '', src: first.src } : { text: value.unknown ? undefined : value.text, src: value.src })
  }

  private command(words: readonly RawWord[]): void {
    let idx = 0
    while (idx < words.length && isAssignment(words[idx])) this.assign(words[idx++] ?? [])
    const head = words[idx]
    const first = head?.[0]
    if (head !== undefined && head.length === 1 && first?.k === 'lit' && EXPORT_WORDS.has(first.text)) {
      for (let k = idx + 1; k < words.length; k++) {
        const w = words[k]
        if (w !== undefined && isAssignment(w)) this.assign(w)
      }
    } else {
      const out: Word[] = []
      for (let k = idx; k < words.length; k++) this.expandWord(words[k] ?? [], true, out, true)
      for (const w of out) this.toks.push(w)
    }
    if (this.toks.length > 0 && this.toks[this.toks.length - 1] !== null) this.toks.push(null)
  }

  run(raw: readonly RawTok[]): this {
    let start = 0
    for (let i = 0; i <= raw.length; i++) {
      if (i < raw.length && raw[i] !== null) continue
      const words: RawWord[] = []
      for (let k = start; k < i; k++) {
        const w = raw[k]
        if (w !== null && w !== undefined) words.push(w)
      }
      if (words.length > 0) this.command(words)
      start = i + 1
    }
    return this
  }
}

function isAssignment(w: RawWord | undefined): boolean {
  const first = w?.[0]
  return first !== undefined && first.k === 'lit' && ASSIGN_RE.test(first.text)
}

// --- java and node invocations ---------------------------------------------------------------

function basename(word: string): string {
  return word.slice(word.lastIndexOf('/') + 1)
}

const JAVA_RE = /^java(\.exe)?$/
const NODE_RE = /^(node|nodejs)$/
/** java launcher options that take the next word as their value. */
const JAVA_VALUE_OPTS = new Set([
  '-cp', '-classpath', '--class-path', '-p', '--module-path', '--upgrade-module-path', '--add-modules', '--limit-modules',
  '--add-reads', '--add-exports', '--add-opens', '--patch-module', '--enable-native-access', '--source',
])
/** node options that take the next word as their value. */
const NODE_VALUE_OPTS = new Set([
  '-r', '--require', '--import', '--loader', '--experimental-loader', '-C', '--conditions', '--title', '--env-file',
  '--max-old-space-size', '--max_old_space_size', '--stack-size', '--inspect-port',
])
const NODE_LAST_OPTS = new Set(['--', '-e', '--eval', '-p', '--print'])

interface CommandLine {
  /** Words the JVM may read as its options, in order (app arguments after the main class excluded). */
  jvm: Word[]
  /** Words node may read as its options. */
  node: Word[]
  /** The container runs the java launcher itself (directly or from its script). */
  directJava: boolean
  /** Variables the command line refers to with `$(VAR)` or, in a script, `$VAR`. */
  referenced: Set<string>
  /** Variables a script assigns. */
  assigned: Map<string, VarValue>
}

/** Sorts the words of one command into the options java or node would read. */
function classifyCommand(command: readonly Word[], cl: CommandLine): void {
  let javaAt = -1
  let nodeAt = -1
  for (let i = 0; i < command.length && javaAt < 0 && nodeAt < 0; i++) {
    // `$JAVA_HOME/bin/java` is java even when JAVA_HOME is unknown.
    const name = basename(command[i]?.text ?? '')
    if (JAVA_RE.test(name)) javaAt = i
    else if (NODE_RE.test(name)) nodeAt = i
  }
  if (javaAt >= 0) {
    cl.directJava = true
    for (let i = javaAt + 1; i < command.length; i++) {
      const w = command[i]
      if (w === undefined) break
      if (w.unknown || w.text.startsWith('@')) {
        cl.jvm.push(w.unknown ? w : { ...w, unknown: true })
        continue
      }
      if (w.text === '-jar' || w.text === '-m' || w.text === '--module' || w.text.startsWith('--module=')) break
      if (JAVA_VALUE_OPTS.has(w.text)) {
        i++
        continue
      }
      if (!w.text.startsWith('-')) break
      cl.jvm.push(w)
    }
  } else if (nodeAt >= 0) {
    for (let i = nodeAt + 1; i < command.length; i++) {
      const w = command[i]
      if (w === undefined) break
      if (w.unknown) {
        cl.node.push(w)
        continue
      }
      if (NODE_LAST_OPTS.has(w.text)) break
      if (NODE_VALUE_OPTS.has(w.text)) {
        cl.node.push(w)
        const v = command[i + 1]
        if (v !== undefined) cl.node.push(v)
        i++
        continue
      }
      if (!w.text.startsWith('-')) break
      cl.node.push(w)
    }
  } else {
    // Another program (a start script, a wrapper): it may pass anything on.
    for (const w of command) {
      cl.jvm.push(w)
      cl.node.push(w)
    }
  }
}

function classify(toks: readonly Tok[], cl: CommandLine): void {
  let command: Word[] = []
  for (const t of toks) {
    if (t !== null) {
      command.push(t)
      continue
    }
    classifyCommand(command, cl)
    command = []
  }
  classifyCommand(command, cl)
}

/**
 * The argv words of one element after kubelet expansion. The kubelet passes an element as one
 * argument (`-Dgreeting=hello world` is one JVM option); only when it holds an env value is it
 * split at whitespace, so that `$(JAVA_OPTS)` reads as the options it lists.
 */
function elementWords(expanded: Expanded | undefined, text: string, own: Src | undefined): Word[] {
  if (expanded === undefined) return []
  if (expanded.unknown !== undefined) return [{ text, src: expanded.unknown, unknown: true }]
  const only = expanded.pieces[0]
  if (expanded.pieces.length === 1 && only !== undefined && only.src === own) {
    return only.text === '' ? [] : [{ text: only.text, src: only.src, unknown: false }]
  }
  const out: Word[] = []
  splitPieces(expanded.pieces, out)
  return out
}

function readCommandLine(c: Container, containerPath: string, vars: EnvLookup): CommandLine {
  const cl: CommandLine = { jvm: [], node: [], directJava: false, referenced: new Set(), assigned: new Map() }
  const texts: string[] = []
  const srcs: Src[] = []
  const command = c.command ?? []
  const args = c.args ?? []
  for (let i = 0; i < command.length; i++) {
    texts.push(command[i] ?? '')
    srcs.push({ path: `${containerPath}.command[${i}]`, where: `command[${i}]` })
  }
  for (let i = 0; i < args.length; i++) {
    texts.push(args[i] ?? '')
    srcs.push({ path: `${containerPath}.args[${i}]`, where: `args[${i}]` })
  }
  if (texts.length === 0) return cl
  const expanded: Expanded[] = []
  for (let k = 0; k < texts.length; k++) expanded.push(kubeletExpand(texts[k] ?? '', srcs[k] ?? { path: containerPath, where: '' }, vars, cl.referenced))

  // A shell running a script: `sh -c SCRIPT [$0 $1...]`, possibly behind a wrapper (tini --, env).
  let shellAt = -1
  for (let k = 0; k < Math.min(texts.length - 2, 3) && shellAt < 0; k++) {
    if (SHELLS.has(basename(texts[k] ?? '')) && SHELL_C_FLAG.test(texts[k + 1] ?? '')) shellAt = k
  }
  const toks: Tok[] = []
  if (shellAt < 0) {
    for (let k = 0; k < texts.length; k++) for (const w of elementWords(expanded[k], texts[k] ?? '', srcs[k])) toks.push(w)
    classify(toks, cl)
    return cl
  }
  const at = shellAt + 2
  const x = expanded[at]
  const src = srcs[at]
  if (x === undefined || src === undefined) return cl
  if (x.unknown !== undefined) {
    toks.push({ text: texts[at] ?? '', src: x.unknown, unknown: true })
  } else {
    let text = ''
    for (const p of x.pieces) text += p.text
    const script: Src = { path: src.path, where: `the shell script in ${src.where}` }
    const positional: Word[][] = []
    for (let k = at + 1; k < texts.length; k++) positional.push(elementWords(expanded[k], texts[k] ?? '', srcs[k]))
    const raw = new ScriptLexer(text, new SourceMap(x.pieces, script, src)).run()
    const runner = new ScriptRunner(vars, positional, cl.referenced).run(raw)
    for (const t of runner.toks) toks.push(t)
    cl.assigned = runner.assigned
  }
  classify(toks, cl)
  return cl
}

// ---------------------------------------------------------------------------------------------
// The JVM

export type JvmFlagName = 'MaxHeapSize' | 'MaxRAM' | 'MaxRAMPercentage' | 'MinRAMPercentage' | 'MaxRAMFraction' | 'MinRAMFraction' | 'UseContainerSupport'

export type JvmItem =
  | { kind: 'flag'; name: JvmFlagName; value: Quantity; ref: FlagRef }
  | { kind: 'option'; ref: FlagRef }
  | { kind: 'unknown'; ref: FlagRef }

interface FlagAt {
  value: Quantity
  ref: FlagRef
  index: number
}

export interface JvmSettings {
  /** Every JVM option found, in the order the JVM reads them. */
  items: JvmItem[]
  /** The last occurrence of each heap-related flag. */
  flags: Partial<Record<JvmFlagName, FlagAt>>
  /** Positions (in items) of values that cannot be known. */
  unknown: number[]
  /** The container runs `java` itself. */
  directJava: boolean
  /** A variable a JVM (or its start script) reads is set, e.g. `env JAVA_OPTS`. */
  envSet?: string
}

const XX_SIZE_RE = /^-XX:(MaxHeapSize|MaxRAM)=(.+)$/
const XX_PCT_RE = /^-XX:(MaxRAMPercentage|MinRAMPercentage)=(.+)$/
const XX_FRACTION_RE = /^-XX:(MaxRAMFraction|MinRAMFraction)=(\d+)$/
const XX_CONTAINER_RE = /^-XX:([+-])UseContainerSupport$/
/** Options that only a JVM takes: heap and stack sizes, -XX:, agents. */
const JVM_OPTION_RE = /^-(Xm[xsn]\d|Xss\d|XX:|javaagent:|agentlib:|agentpath:)/

function classifyJvmWord(w: Word, argfiles: boolean): JvmItem | undefined {
  const ref: FlagRef = { text: w.text, path: w.src.path, where: w.src.where }
  if (w.unknown) return { kind: 'unknown', ref }
  const t = w.text
  if (argfiles && t.startsWith('@')) return { kind: 'unknown', ref }
  if (opaqueFlag(t, '-X')) return { kind: 'unknown', ref }
  if (t.includes(OPAQUE)) return undefined
  if (t.startsWith('-Xmx')) {
    const v = parseJvmSize(t.slice(4))
    return v === undefined ? { kind: 'option', ref } : { kind: 'flag', name: 'MaxHeapSize', value: v, ref }
  }
  if (!t.startsWith('-XX:')) return JVM_OPTION_RE.test(t) ? { kind: 'option', ref } : undefined
  if (t.startsWith('-XX:VMOptionsFile=') || t.startsWith('-XX:Flags=')) return { kind: 'unknown', ref }
  let m = XX_SIZE_RE.exec(t)
  if (m !== null) {
    const v = parseJvmSize(m[2] ?? '')
    return v === undefined ? { kind: 'option', ref } : { kind: 'flag', name: m[1] === 'MaxRAM' ? 'MaxRAM' : 'MaxHeapSize', value: v, ref }
  }
  m = XX_PCT_RE.exec(t)
  if (m !== null) {
    const v = parseJvmPercent(m[2] ?? '')
    return v === undefined ? { kind: 'option', ref } : { kind: 'flag', name: m[1] === 'MinRAMPercentage' ? 'MinRAMPercentage' : 'MaxRAMPercentage', value: v, ref }
  }
  m = XX_FRACTION_RE.exec(t)
  if (m !== null) {
    const v = BigInt(m[2] ?? '0')
    if (v === 0n) return { kind: 'option', ref }
    return { kind: 'flag', name: m[1] === 'MinRAMFraction' ? 'MinRAMFraction' : 'MaxRAMFraction', value: Quantity.fromInteger(v), ref }
  }
  m = XX_CONTAINER_RE.exec(t)
  if (m !== null) return { kind: 'flag', name: 'UseContainerSupport', value: Quantity.fromInteger(m[1] === '+' ? 1 : 0), ref }
  return { kind: 'option', ref }
}

// ---------------------------------------------------------------------------------------------
// Node.js, Go, .NET

export interface RuntimeCap {
  runtime: 'node' | 'go' | 'dotnet'
  /** The cap in bytes. */
  bytes: Quantity
  /** How it reads, for messages: `--max-old-space-size=4096 = 4Gi`, `DOTNET_GCHeapHardLimit=0xC800000 = 200Mi`. */
  how: string
  ref: FlagRef
}

export interface RuntimeSettings {
  /** Node's old-space cap, unless a value we cannot see could change it. */
  node?: RuntimeCap
  go?: RuntimeCap
  /** GOMEMLIMIT=off (or unset) means no soft limit. */
  goOff?: FlagRef
  /** GOMEMLIMIT that the Go runtime rejects at start (`2Gi`, `2GB`). */
  goMalformed?: FlagRef
  dotnet?: RuntimeCap
  /** A heap hard limit percent (1-99 honoured), as a fraction of the limit: never the whole of it. */
  dotnetPercent?: { percent: bigint; ref: FlagRef }
}

const NODE_OLD_SPACE_RE = /^--max[-_]old[-_]space[-_]size(?:=(.*))?$/
const DIGITS_RE = /^\d+$/

// ---------------------------------------------------------------------------------------------
// The analysis of one container

export interface ContainerRuntimes {
  jvm: JvmSettings
  runtimes: RuntimeSettings
}

/** The results for the containers seen last: the rules of one evaluation share them. */
const recentRuntimes = new RecentAnswers<Container, string, undefined, ContainerRuntimes>(64)

/** Variables some runtime reads (besides the JVM's). */
const RUNTIME_ENV = new Set(['NODE_OPTIONS', 'GOMEMLIMIT', 'DOTNET_GCHeapHardLimit', 'COMPlus_GCHeapHardLimit', 'DOTNET_GCHeapHardLimitPercent', 'COMPlus_GCHeapHardLimitPercent'])
const ENV_OF_INTEREST = new Set([...JVM_ENV_ALL, ...RUNTIME_ENV])
/** Text without any of these cannot hold a setting this module reads, nor run java or node. */
const MARKERS = /-X|--max|java|node|GOMEMLIMIT|GCHeapHardLimit|_OPTS|_OPTIONS/
function hasMarker(text: string | undefined): boolean {
  return text !== undefined && MARKERS.test(text)
}

/** The cheap test that lets most containers (no runtime settings at all) skip the analysis. */
function mayHaveSettings(c: Container): boolean {
  for (const e of c.env ?? []) if ((e.name !== undefined && ENV_OF_INTEREST.has(e.name)) || hasMarker(e.value)) return true
  for (const a of c.command ?? []) if (hasMarker(a)) return true
  for (const a of c.args ?? []) if (hasMarker(a)) return true
  return false
}

/** The result for a container without settings: shared, and never modified. */
const NOTHING: ContainerRuntimes = Object.freeze({
  jvm: Object.freeze({ items: [], flags: Object.freeze({}), unknown: [], directJava: false }),
  runtimes: Object.freeze({}),
})

/**
 * The heap settings of a container. The test that most containers have none is cheap; the others
 * are analysed once for all the rules of an evaluation (they share the PodView's container objects).
 */
const runtimesOfContainer = (c: Container, containerPath: string): ContainerRuntimes => (mayHaveSettings(c) ? compute(c, containerPath) : NOTHING)

export function analyzeContainer(c: Container, containerPath: string): ContainerRuntimes {
  return recentRuntimes.get(c, containerPath, undefined, undefined, runtimesOfContainer)
}

/** A variable as a runtime sees it: assigned by the container's script, else from env. */
function runtimeVar(env: ContainerEnv, cl: CommandLine, name: string): VarValue | undefined {
  const assigned = cl.assigned.get(name)
  if (assigned !== undefined) return assigned
  const entry = env.vars.get(name)
  if (entry === undefined) return undefined
  return entry.value === undefined
    ? { text: undefined, src: { path: entry.path, where: `env ${name} (${entry.from ?? 'valueFrom'})` } }
    : { text: entry.value, src: { path: `${entry.path}.value`, where: `env ${name}` } }
}

function addJvmWords(items: JvmItem[], words: readonly Word[], argfiles: boolean): void {
  for (const w of words) {
    const item = classifyJvmWord(w, argfiles)
    if (item !== undefined) items.push(item)
  }
}

function jvmSettings(env: ContainerEnv, cl: CommandLine): JvmSettings {
  // JAVA_TOOL_OPTIONS, JDK_JAVA_OPTIONS, start-script variables, the command line, _JAVA_OPTIONS.
  const items: JvmItem[] = []
  let envSet: string | undefined
  for (const name of JVM_ENV_ALL) {
    const v = runtimeVar(env, cl, name)
    if (v !== undefined && v.text !== '') envSet ??= v.src.where
  }
  for (const name of JVM_ENV_BEFORE) {
    const v = runtimeVar(env, cl, name)
    if (v !== undefined) addJvmWords(items, valueWords(v), name === 'JDK_JAVA_OPTIONS')
  }
  for (const name of JVM_SCRIPT_ENV) {
    // Read only by start scripts: ignored when the container runs java itself and never passes them.
    if (cl.referenced.has(name) || cl.directJava) continue
    const v = runtimeVar(env, cl, name)
    if (v !== undefined) addJvmWords(items, valueWords(v), false)
  }
  addJvmWords(items, cl.jvm, cl.directJava)
  for (const name of JVM_ENV_AFTER) {
    const v = runtimeVar(env, cl, name)
    if (v !== undefined) addJvmWords(items, valueWords(v), false)
  }
  const flags: Partial<Record<JvmFlagName, FlagAt>> = {}
  const unknown: number[] = []
  for (let index = 0; index < items.length; index++) {
    const item = items[index]
    if (item?.kind === 'flag') flags[item.name] = { value: item.value, ref: item.ref, index }
    else if (item?.kind === 'unknown') unknown.push(index)
  }
  const jvm: JvmSettings = { items, flags, unknown, directJava: cl.directJava }
  if (envSet !== undefined) jvm.envSet = envSet
  return jvm
}

/** Node's --max-old-space-size: NODE_OPTIONS first, then node's own options; the last one wins. */
function nodeCap(env: ContainerEnv, cl: CommandLine): RuntimeCap | undefined {
  const nodeOptions = runtimeVar(env, cl, 'NODE_OPTIONS')
  const words = nodeOptions === undefined ? cl.node : [...valueWords(nodeOptions), ...cl.node]
  let node: RuntimeCap | undefined
  let unknownAfter = false
  for (let i = 0; i < words.length; i++) {
    const w = words[i]
    if (w === undefined) continue
    if (w.unknown || opaqueFlag(w.text, '--max')) {
      unknownAfter = true
      continue
    }
    const m = NODE_OLD_SPACE_RE.exec(w.text)
    if (m === null) continue
    let value = m[1]
    let text = w.text
    let src = w.src
    if (value === undefined) {
      const next = words[i + 1]
      if (next === undefined || next.unknown) continue
      value = next.text
      text = `${w.text} ${next.text}`
      src = next.src
      i++
    }
    if (value.includes(OPAQUE) || value.includes('$(')) {
      unknownAfter = true
      continue
    }
    if (!DIGITS_RE.test(value)) continue
    const bytes = Quantity.fromInteger(BigInt(value) << 20n)
    node = { runtime: 'node', bytes, how: `${text} = ${formatBytes(bytes)}`, ref: { text, path: src.path, where: src.where } }
    unknownAfter = false
  }
  return unknownAfter ? undefined : node
}

/** A .NET setting: DOTNET_ wins over COMPlus_. */
function dotnetVar(env: ContainerEnv, cl: CommandLine, setting: string): { name: string; v: VarValue } | undefined {
  for (const name of [`DOTNET_${setting}`, `COMPlus_${setting}`]) {
    const v = runtimeVar(env, cl, name)
    if (v !== undefined) return { name, v }
  }
  return undefined
}

function otherRuntimes(env: ContainerEnv, cl: CommandLine): RuntimeSettings {
  const runtimes: RuntimeSettings = {}
  const node = nodeCap(env, cl)
  if (node !== undefined) runtimes.node = node

  const go = runtimeVar(env, cl, 'GOMEMLIMIT')
  if (go !== undefined && go.text !== undefined && go.text !== '' && !go.text.includes(OPAQUE) && !go.text.includes('$(')) {
    const ref: FlagRef = { text: go.text, path: go.src.path, where: go.src.where }
    const parsed = parseGoMemLimit(go.text)
    if (parsed === 'off') runtimes.goOff = ref
    else if (parsed === undefined) runtimes.goMalformed = ref
    else runtimes.go = { runtime: 'go', bytes: parsed, how: `GOMEMLIMIT=${go.text} = ${formatBytes(parsed)}`, ref }
  }

  // An explicit hard limit wins over the percent.
  const hard = dotnetVar(env, cl, 'GCHeapHardLimit')
  const hardText = hard?.v.text
  const hardValue = hardText === undefined ? undefined : parseDotnetHex(hardText)
  if (hard !== undefined && hardText !== undefined && hardValue !== undefined && hardValue > 0n) {
    const bytes = Quantity.fromInteger(hardValue)
    const hex = /^0[xX]/.test(hardText) ? hardText : `0x${hardText}`
    runtimes.dotnet = {
      runtime: 'dotnet',
      bytes,
      how: `${hard.name}=${hardText}, hexadecimal ${hex} = ${formatBytes(bytes)}`,
      ref: { text: hardText, path: hard.v.src.path, where: hard.v.src.where },
    }
  } else if (hard === undefined || hardText !== undefined) {
    const pct = dotnetVar(env, cl, 'GCHeapHardLimitPercent')
    const p = pct?.v.text === undefined ? undefined : parseDotnetHex(pct.v.text)
    if (pct !== undefined && p !== undefined && p > 0n && p < 100n) {
      runtimes.dotnetPercent = { percent: p, ref: { text: pct.v.text ?? '', path: pct.v.src.path, where: pct.v.src.where } }
    }
  }
  return runtimes
}

function compute(c: Container, containerPath: string): ContainerRuntimes {
  const env = containerEnv(c, containerPath)
  const cl = readCommandLine(c, containerPath, new EnvLookup(env, containerPath))
  return { jvm: jvmSettings(env, cl), runtimes: otherRuntimes(env, cl) }
}

/** The analysis for a container view. */
export function runtimesOf(c: ContainerView): ContainerRuntimes {
  return analyzeContainer(c.spec, c.path)
}

// ---------------------------------------------------------------------------------------------
// The JVM's max heap

/** HotSpot's default MaxHeapSize on 64-bit (ScaleForWordSize(96M)): the floor of ergonomic heaps above small memory. */
export const JVM_DEFAULT_MAX_HEAP = Quantity.fromInteger(130862280n)
const DEFAULT_MAX_PCT = Quantity.fromInteger(25)
const DEFAULT_MIN_PCT = Quantity.fromInteger(50)

export interface HeapEstimate {
  bytes: Quantity
  /** `explicit`: -Xmx or MaxHeapSize; `ergonomic`: sized by RAM flags; `default`: no heap flag at all. */
  basis: 'explicit' | 'ergonomic' | 'default'
  /** How the number comes about, for messages: `-Xmx2g = 2Gi`, `-XX:MaxRAMPercentage=90 of the 2Gi limit = 1.8Gi` (computed when read). */
  readonly how: string
  /** The flag that decides it; absent for the JVM's default. */
  ref?: FlagRef
  /** For a heap sized from the container limit by MaxRAMPercentage: that percentage. */
  percentOfLimit?: Quantity
  /** True when -XX:MaxRAM makes the JVM ignore the container limit. */
  fromMaxRam: boolean
}

export type HeapResult =
  | { known: true; heap: HeapEstimate }
  /** `unknown-value`: a value we cannot see could change it; `no-limit`: sized from memory we do not know; `node-memory`: container support is off. */
  | { known: false; reason: 'unknown-value' | 'no-limit' | 'node-memory'; ref?: FlagRef }

/** `pct`% of `q`, exactly. */
function percentOf(q: Quantity, pct: Quantity): Quantity {
  return new Quantity(q.n * pct.n, q.d * pct.d * 100n)
}

function pctText(q: Quantity): string {
  return `${Math.round(q.toNumber() * 100) / 100}`
}

/**
 * The JVM's max heap as HotSpot sizes it (Arguments::set_heap_size): an explicit -Xmx /
 * MaxHeapSize wins wherever it is; otherwise MaxRAMPercentage (25 by default) of MaxRAM, or of
 * the memory the JVM sees (the container limit with container support, the node's without), and
 * for small memory MinRAMPercentage (50 by default) of it.
 */
export function jvmMaxHeap(jvm: JvmSettings, limit: Quantity | undefined): HeapResult {
  // The JVM rules of one evaluation ask about the same settings and limit objects one after the
  // other: a small ring of the last answers, compared by identity (the inputs are never modified).
  return recentHeaps.get(jvm, limit, undefined, undefined, computeMaxHeap)
}

const recentHeaps = new RecentAnswers<JvmSettings, Quantity | undefined, undefined, HeapResult>(16)

function computeMaxHeap(jvm: JvmSettings, limit: Quantity | undefined): HeapResult {
  const f = jvm.flags
  const explicit = f.MaxHeapSize
  if (explicit !== undefined) {
    const after = jvm.unknown.find((i) => i > explicit.index)
    if (after !== undefined) return { known: false, reason: 'unknown-value', ref: jvm.items[after]?.ref }
    const heap: HeapEstimate = {
      bytes: explicit.value,
      basis: 'explicit',
      get how() {
        return `${explicit.ref.text} = ${formatBytes(explicit.value)}`
      },
      ref: explicit.ref,
      fromMaxRam: false,
    }
    return { known: true, heap }
  }
  const firstUnknown = jvm.unknown[0]
  if (firstUnknown !== undefined) return { known: false, reason: 'unknown-value', ref: jvm.items[firstUnknown]?.ref }

  const maxRam = f.MaxRAM
  let phys: Quantity
  let physWords: () => string
  if (maxRam !== undefined) {
    phys = maxRam.value
    physWords = () => maxRam.ref.text
  } else if (f.UseContainerSupport !== undefined && f.UseContainerSupport.value.n === 0n) {
    return { known: false, reason: 'node-memory', ref: f.UseContainerSupport.ref }
  } else if (limit === undefined) {
    return { known: false, reason: 'no-limit' }
  } else {
    phys = limit
    physWords = () => `the ${showBytes(limit)} limit`
  }
  const maxPctFlag = f.MaxRAMPercentage ?? f.MaxRAMFraction
  const maxPct = f.MaxRAMPercentage?.value ?? (f.MaxRAMFraction !== undefined ? new Quantity(100n, f.MaxRAMFraction.value.n) : DEFAULT_MAX_PCT)
  const minPctFlag = f.MinRAMPercentage ?? f.MinRAMFraction
  const minPct = f.MinRAMPercentage?.value ?? (f.MinRAMFraction !== undefined ? new Quantity(100n, f.MinRAMFraction.value.n) : DEFAULT_MIN_PCT)
  const reasonableMin = percentOf(phys, minPct)
  let bytes: Quantity
  let governing: 'min' | 'max' | 'floor'
  if (reasonableMin.lt(JVM_DEFAULT_MAX_HEAP)) {
    bytes = reasonableMin
    governing = 'min'
  } else {
    const reasonableMax = percentOf(phys, maxPct)
    governing = reasonableMax.gte(JVM_DEFAULT_MAX_HEAP) ? 'max' : 'floor'
    bytes = Quantity.max(reasonableMax, JVM_DEFAULT_MAX_HEAP)
  }
  // The JVM rounds to whole bytes (and then to its heap alignment).
  bytes = Quantity.fromInteger(bytes.n / bytes.d)
  const decided = governing === 'min' ? minPctFlag : governing === 'max' ? maxPctFlag : undefined
  // MaxRAM, when given, is what detaches the heap from the limit: point at it.
  const ref = maxRam?.ref ?? decided?.ref ?? maxPctFlag?.ref ?? minPctFlag?.ref
  const basis = ref === undefined ? 'default' : 'ergonomic'
  const pct = governing === 'min' ? minPct : maxPct
  const heap: HeapEstimate = {
    bytes,
    basis,
    get how() {
      if (governing === 'floor') return `the JVM's 124.8Mi minimum default heap (with ${physWords()})`
      const pctWords = decided !== undefined ? decided.ref.text : `${pctText(pct)}% (the default ${governing === 'min' ? 'MinRAMPercentage for small memory' : 'MaxRAMPercentage'})`
      return `${pctWords} of ${physWords()} = ${formatBytes(bytes)}`
    },
    fromMaxRam: maxRam !== undefined,
  }
  if (ref !== undefined) heap.ref = ref
  if (maxRam === undefined && governing === 'max') heap.percentOfLimit = maxPct
  return { known: true, heap }
}

function isView(c: Container | ContainerView): c is ContainerView {
  return 'spec' in c && 'kind' in c && 'path' in c
}

/**
 * What makes a container a JVM, in words for a message: its image (`image eclipse-temurin:21`),
 * a java command, JVM options (`JVM option -Xmx2g in env JAVA_OPTS`), or a variable the JVM or its
 * start script reads (`env JAVA_OPTS is set`).
 */
export function jvmEvidence(container: Container | ContainerView): string | undefined {
  const spec = isView(container) ? container.spec : container
  if (isJvmImage(spec.image)) return `image ${spec.image ?? ''}`
  const { jvm } = analyzeContainer(spec, isView(container) ? container.path : '')
  if (jvm.directJava) return 'its command runs java'
  const option = jvm.items.find((i) => i.kind !== 'unknown')
  if (option !== undefined) return `JVM option ${option.ref.text} in ${option.ref.where}`
  if (jvm.envSet !== undefined) return `${jvm.envSet} is set`
  return undefined
}

/** True when the container runs a JVM, by its image or its configuration (for rules such as the JVM start window). */
export function jvmConfigured(container: Container | ContainerView): boolean {
  return jvmEvidence(container) !== undefined
}

/**
 * How to bring a JVM heap back to `percent`% of the limit, with concrete numbers:
 * `-Xmx1536m (75% of the limit) or -XX:MaxRAMPercentage=75 instead, or raise limits.memory to at least 2.75Gi`.
 */
export function jvmHeapFix(heap: HeapEstimate, limit: Quantity, percent = 75): string {
  const pct = Quantity.parse(percent) ?? Quantity.fromInteger(75)
  const target = percentOf(limit, pct)
  const size = jvmSize(target)
  const text = heap.ref?.text ?? ''
  const pctWord = pctText(pct)
  const raise = `raise limits.memory to at least ${formatBytes(suggestLimit(heap.bytes, percent))}`
  if (heap.basis === 'explicit') {
    const flag = text.startsWith('-XX:MaxHeapSize=') ? `-XX:MaxHeapSize=${size}` : `-Xmx${size}`
    return `lower the heap to ${flag} (${pctWord}% of the ${formatBytes(limit)} limit) or replace it with -XX:MaxRAMPercentage=${pctWord}, or ${raise}`
  }
  if (heap.fromMaxRam) {
    return `remove ${heap.ref?.text ?? '-XX:MaxRAM'} so that the JVM sizes the heap from the container limit, with -XX:MaxRAMPercentage=${pctWord} at most; or set -Xmx${size}; or ${raise}`
  }
  if (text.includes('MinRAM')) {
    return `lower ${text} to ${pctWord} or less (it sizes the heap when the memory is below about 250Mi), or set -Xmx${size}`
  }
  return `set -XX:MaxRAMPercentage=${pctWord} (a ${formatBytes(target)} heap with the ${formatBytes(limit)} limit) or -Xmx${size}; raising the limit does not help while the heap is a percentage of it`
}
