import { safeText } from '../text/sanitize.js'
import type { CauseId } from './causes.js'
import type { LogInput } from './input.js'
import { get, str } from './narrow.js'
import type { Diagnosis } from './types.js'

/**
 * Failure signatures in a container's log (usually the previous container's, as
 * `kubectl logs --previous` prints it). Each signature is a fixed pattern of the line a runtime,
 * a language or a library prints when it gives up, so a match is evidence, not a guess; a log
 * that matches nothing changes nothing.
 *
 * Honest near-misses stay silent:
 * - a line the program logged at INFO, DEBUG or TRACE is a handled message, not the failure;
 * - the language-level signatures (JVM OutOfMemoryError, Python ModuleNotFoundError, Node
 *   "Cannot find module", Go "panic:") fire only where the runtime prints them: at the start of
 *   a line, as an uncaught error does, not in the middle of a log message that mentions them;
 * - the container-start signatures fire only on the runtime's own lines ("exec /app: ...").
 *
 * Bounded: at most MAX_LOG_BYTES of the end of the log and MAX_LOG_LINES lines are looked at,
 * each line cut to MAX_LINE_CHARS before matching, and every pattern is linear in its line.
 */

export const MAX_LOG_BYTES = 256 * 1024
export const MAX_LOG_LINES = 5_000
const MAX_LINE_CHARS = 2_000
/** How much of a matching line is quoted as evidence. */
const QUOTE_CHARS = 200

export type SignatureId =
  | 'exec-format-error'
  | 'entrypoint-not-found'
  | 'entrypoint-permission-denied'
  | 'jvm-heap'
  | 'jvm-metaspace'
  | 'jvm-native-thread'
  | 'jvm-direct-memory'
  | 'jvm-out-of-memory'
  | 'go-panic'
  | 'python-module-not-found'
  | 'node-module-not-found'
  | 'config-file-missing'
  | 'file-permission-denied'
  | 'address-in-use'
  | 'dns-failure'
  | 'connection-refused'

export interface LogFinding {
  signature: SignatureId
  /** 1-based line number within the part of the log that was read. */
  line: number
  /** The matching line, control characters escaped and shortened. */
  text: string
  /** What was named on the line (a path, a module, a host, a port), escaped and shortened. */
  subject?: string
}

export interface LogScan {
  findings: LogFinding[]
  linesRead: number
  /** The log was longer than what was read: only its end was looked at. */
  cut: boolean
}

/** A level the program gave a line that marks it as handled (INFO and below), near the line's start. */
const HANDLED_LEVEL = /^.{0,60}?(?:\b(?:INFO|DEBUG|TRACE|NOTICE)\b|level=(?:info|debug|trace)\b|"level":\s?"(?:info|debug|trace)"|^[IDT]\d{4} \d\d:\d\d)/

/** The prefix `kubectl logs --timestamps` adds: 2024-05-13T10:30:59.123456789Z and a space. */
const KUBELET_TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d) /

const CONFIG_PATH = /(?:\.(?:ya?ml|json|toml|conf|cfg|ini|properties|env|xml|hcl)|^\/(?:etc|config|configs|conf|settings)\/.*)$/i

interface Rule {
  id: SignatureId
  /** The line's match, with what it names; undefined when the line is not this signature. */
  test(line: string): { subject?: string } | undefined
}

function first(m: RegExpExecArray | null, ...groups: number[]): { subject?: string } | undefined {
  if (m === null) return undefined
  for (const g of groups) {
    const v = m[g]
    if (v !== undefined && v !== '') return { subject: v }
  }
  return {}
}

/** The runtime's own start failure lines: `exec /app: exec format error` (runc, crun) and older runc's wording. */
const RUNTIME_EXEC = /^(?:exec (\S{1,1000}): |standard_init_linux\.go:\d{1,6}: exec user process caused:? "?)(exec format error|no such file or directory|permission denied)"?\s*$/i

function runtimeExec(kind: string): Rule['test'] {
  return (line) => {
    const m = RUNTIME_EXEC.exec(line)
    if (m === null || m[2]?.toLowerCase() !== kind) return undefined
    return m[1] !== undefined ? { subject: m[1] } : {}
  }
}

const JVM_OOM = /^\s*(?:Exception in thread "[^"]{0,200}" |Caused by: |Terminating due to |Exception: )?java\.lang\.OutOfMemoryError(?::\s?(.{0,200}))?/

function jvm(kind: 'heap' | 'metaspace' | 'thread' | 'direct' | 'other'): Rule['test'] {
  return (line) => {
    const m = JVM_OOM.exec(line)
    if (m === null) return undefined
    const what = m[1] ?? ''
    const k = /Java heap space|GC overhead limit exceeded|Requested array size exceeds/i.test(what)
      ? 'heap'
      : /Metaspace|Compressed class space/i.test(what)
        ? 'metaspace'
        : /unable to create (?:new )?native thread/i.test(what)
          ? 'thread'
          : /Direct buffer memory/i.test(what)
            ? 'direct'
            : 'other'
    return k === kind ? (what !== '' ? { subject: what.trim() } : {}) : undefined
  }
}

const RULES: readonly Rule[] = [
  { id: 'exec-format-error', test: runtimeExec('exec format error') },
  { id: 'entrypoint-not-found', test: runtimeExec('no such file or directory') },
  { id: 'entrypoint-permission-denied', test: runtimeExec('permission denied') },
  { id: 'jvm-heap', test: jvm('heap') },
  { id: 'jvm-metaspace', test: jvm('metaspace') },
  { id: 'jvm-native-thread', test: jvm('thread') },
  { id: 'jvm-direct-memory', test: jvm('direct') },
  { id: 'jvm-out-of-memory', test: jvm('other') },
  { id: 'go-panic', test: (line) => first(/^panic: (.{1,300})/.exec(line), 1) },
  {
    id: 'python-module-not-found',
    test: (line) => first(/^(?:ModuleNotFoundError: No module named '([^']{1,300})'|ImportError: No module named '?([\w.]{1,300})'?)/.exec(line), 1, 2),
  },
  {
    id: 'node-module-not-found',
    test: (line) => first(/^Error(?: \[ERR_MODULE_NOT_FOUND\])?: Cannot find (?:module|package) '([^']{1,1000})'/.exec(line), 1),
  },
  {
    id: 'config-file-missing',
    test: (line) => {
      const m =
        /\bopen (\/[^\s:]{1,1000}): no such file or directory/.exec(line) ??
        /FileNotFoundError: \[Errno 2\] No such file or directory: '([^']{1,1000})'/.exec(line) ??
        /ENOENT: no such file or directory, open '([^']{1,1000})'/.exec(line) ??
        /java\.io\.FileNotFoundException: (\S{1,1000}) \(No such file or directory\)/.exec(line)
      const path = m?.[1]
      return path !== undefined && CONFIG_PATH.test(path) ? { subject: path } : undefined
    },
  },
  {
    id: 'file-permission-denied',
    test: (line) =>
      first(
        /PermissionError: \[Errno 13\] Permission denied: '([^']{1,1000})'/.exec(line) ??
          /\b(?:open|mkdir|create|remove|rename|chmod|chown|unlinkat|openat|mkdirat|stat|lstat) (\/[^\s:]{0,1000}): permission denied/.exec(line) ??
          /: cannot (?:create|open|touch|remove|write)[^']{0,100}'(\/[^']{0,1000})': Permission denied/.exec(line) ??
          /EACCES: permission denied, \w{1,20} '(\/[^']{0,1000})'/.exec(line) ??
          /java\.nio\.file\.AccessDeniedException: (\/\S{0,1000})/.exec(line) ??
          /java\.io\.FileNotFoundException: (\/\S{0,1000}) \(Permission denied\)/.exec(line),
        1,
      ),
  },
  {
    id: 'address-in-use',
    test: (line) =>
      first(
        /listen (?:tcp|udp)[46]? (\S{1,300}): bind: address already in use/.exec(line) ??
          /EADDRINUSE: address already in use (\S{1,300})/.exec(line) ??
          /(?:\bbind: address already in use|\bEADDRINUSE\b|\[Errno 98\] Address already in use|java\.net\.BindException: Address already in use)/.exec(line),
        1,
      ),
  },
  {
    id: 'dns-failure',
    test: (line) =>
      first(
        /\blookup ([^\s:]{1,255})(?: on \S{1,300})?: (?:no such host|server misbehaving|i\/o timeout)/.exec(line) ??
          /getaddrinfo (?:ENOTFOUND|EAI_AGAIN) (\S{1,255})/.exec(line) ??
          /could not translate host name "([^"]{1,255})" to address/.exec(line) ??
          /java\.net\.UnknownHostException: (\S{1,255})/.exec(line) ??
          /(?:gaierror|Error): \[Errno -[23]\] (?:Name or service not known|Temporary failure in name resolution)/.exec(line),
        1,
      ),
  },
  {
    id: 'connection-refused',
    test: (line) =>
      first(
        /dial tcp (\S{1,300}): connect: connection refused/.exec(line) ??
          /connect ECONNREFUSED (\S{1,300})/.exec(line) ??
          /connection to server at "([^"]{1,255})"[^,]{0,100}, port \d{1,5} failed: Connection refused/.exec(line) ??
          /(?:ConnectionRefusedError: \[Errno 111\] Connection refused|java\.net\.ConnectException: Connection refused)/.exec(line),
        1,
      ),
  },
]

/** Precedence when several signatures are in one log: the one that explains the exit best first. */
const ORDER: readonly SignatureId[] = RULES.map((r) => r.id)

/** The end of a log, at most `maxBytes` bytes of UTF-8, starting at a whole line. */
export function logTail(text: string, maxBytes = MAX_LOG_BYTES): { text: string; cut: boolean } {
  // A UTF-16 unit is at most 3 bytes of UTF-8: a text this short cannot exceed the bound.
  if (text.length * 3 <= maxBytes || Buffer.byteLength(text, 'utf8') <= maxBytes) return { text, cut: false }
  const buf = Buffer.from(text.slice(-maxBytes), 'utf8')
  let tail = buf.subarray(Math.max(0, buf.length - maxBytes)).toString('utf8')
  const nl = tail.indexOf('\n')
  tail = nl >= 0 ? tail.slice(nl + 1) : tail
  return { text: tail, cut: true }
}

/**
 * Finds the failure signatures in a log: the last line of each signature in the part that was
 * read, in precedence order. Linear in the bytes read.
 */
export function scanLog(text: string, limits: { maxBytes?: number; maxLines?: number } = {}): LogScan {
  const tail = logTail(text, limits.maxBytes ?? MAX_LOG_BYTES)
  let lines = tail.text.split('\n')
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  const maxLines = limits.maxLines ?? MAX_LOG_LINES
  const cut = tail.cut || lines.length > maxLines
  if (lines.length > maxLines) lines = lines.slice(-maxLines)
  const found = new Map<SignatureId, LogFinding>()
  let panicLine: LogFinding | undefined
  let goroutine = false
  lines.forEach((raw, i) => {
    // `kubectl logs --timestamps` puts the kubelet's RFC 3339 time before each line: not the program's text.
    const line = (raw.endsWith('\r') ? raw.slice(0, -1) : raw).slice(0, MAX_LINE_CHARS).replace(KUBELET_TIMESTAMP, '')
    if (panicLine !== undefined && /^goroutine \d+ \[/.test(line)) goroutine = true
    if (HANDLED_LEVEL.test(line)) return
    for (const rule of RULES) {
      const m = rule.test(line)
      if (m === undefined) continue
      const finding: LogFinding = { signature: rule.id, line: i + 1, text: safeText(line.trim(), QUOTE_CHARS) }
      if (m.subject !== undefined) finding.subject = safeText(m.subject, 120)
      if (rule.id === 'go-panic') {
        // A Go panic is the runtime's: "panic: ..." followed by the goroutine dump.
        panicLine = finding
        goroutine = false
        continue
      }
      found.set(rule.id, finding)
      break
    }
  })
  if (panicLine !== undefined && goroutine) found.set('go-panic', panicLine)
  const findings = ORDER.flatMap((id) => {
    const f = found.get(id)
    return f !== undefined ? [f] : []
  })
  return { findings, linesRead: lines.length, cut }
}

/** Causes from a container's exit that a log signature may add to. */
const REFINABLE = new Set<CauseId>([
  'app-error',
  'shell-misuse',
  'container-runtime-failed',
  'invalid-exit-code',
  'exit-out-of-range',
  'container-create-failed',
  'command-not-found',
  'command-not-executable',
  'oom-killed',
  'killed',
  'aborted',
  'segfault',
  'signal',
  'exit-no-foreground-process',
  'liveness-probe-killed',
])

/** Causes a program's exit code alone suggested, which the runtime's own start failure line replaces. */
const EXIT_GUESSES = new Set<CauseId>(['app-error', 'shell-misuse', 'container-runtime-failed', 'invalid-exit-code', 'exit-out-of-range', 'container-create-failed'])

interface Meaning {
  /** The cause the signature proves, and from which causes it may replace the exit code's reading. */
  cause?: { id: CauseId; from: ReadonlySet<CauseId> }
  says(f: LogFinding, container: string): string
  next(f: LogFinding): string
}

const s = (f: LogFinding, fallback: string): string => (f.subject !== undefined ? `"${f.subject}"` : fallback)

const MEANINGS: Readonly<Record<SignatureId, Meaning>> = {
  'exec-format-error': {
    cause: { id: 'command-not-executable', from: EXIT_GUESSES },
    says: (f) => `The log shows the runtime could not execute ${s(f, 'the entrypoint')}: exec format error, a binary built for another CPU architecture (e.g. arm64 on amd64) or a script without a #! line.`,
    next: () => 'Build or pull the image for the node\'s architecture (`docker buildx build --platform linux/amd64,linux/arm64`, check `kubectl get node -L kubernetes.io/arch`), or give the script a #! line.',
  },
  'entrypoint-not-found': {
    cause: { id: 'command-not-found', from: EXIT_GUESSES },
    says: (f) => `The log shows the runtime could not find the entrypoint${f.subject !== undefined ? ` "${f.subject}"` : ''}: no such file or directory (a wrong path, or a script whose #! interpreter or CRLF line ending does not exist in the image).`,
    next: () => 'Check the path in command/ENTRYPOINT exists in the image (`docker run --entrypoint ls IMAGE -l PATH`), and that a script\'s #! interpreter exists and its line endings are LF.',
  },
  'entrypoint-permission-denied': {
    cause: { id: 'command-not-executable', from: EXIT_GUESSES },
    says: (f) => `The log shows the runtime was denied executing the entrypoint${f.subject !== undefined ? ` "${f.subject}"` : ''}: the file lacks the execute bit or sits on a noexec mount.`,
    next: () => 'Make the file executable in the image (`RUN chmod +x PATH`, or `COPY --chmod=0755`), or start it through its interpreter (`sh PATH`).',
  },
  'jvm-heap': {
    says: () => 'The log shows the JVM ran out of heap (java.lang.OutOfMemoryError: Java heap space): the Java heap limit (-Xmx or MaxRAMPercentage) was reached, which is the JVM\'s own limit, not the kernel\'s OOM kill.',
    next: () => 'Raise the heap (-Xmx or -XX:MaxRAMPercentage) with the memory limit above it, or find what fills the heap (-XX:+HeapDumpOnOutOfMemoryError).',
  },
  'jvm-metaspace': {
    says: () => 'The log shows the JVM ran out of Metaspace (class metadata), not heap: too many classes loaded or a class-loader leak, or -XX:MaxMetaspaceSize set too low.',
    next: () => 'Raise -XX:MaxMetaspaceSize (and the memory limit with it), or look for a class-loader leak (repeated redeploys, generated classes).',
  },
  'jvm-native-thread': {
    says: () => 'The log shows the JVM could not create a native thread: the process hit a thread or PID limit (the pod\'s pids limit or the node\'s), or memory outside the heap ran out; a bigger heap does not help.',
    next: () => 'Count the threads (`kubectl exec POD -- cat /proc/1/status | grep Threads`), bound the thread pools, and check the node\'s pod PID limit; lowering -Xss frees memory per thread.',
  },
  'jvm-direct-memory': {
    says: () => 'The log shows the JVM ran out of direct buffer memory (off-heap, -XX:MaxDirectMemorySize), not heap.',
    next: () => 'Raise -XX:MaxDirectMemorySize within the memory limit, or release direct buffers (Netty and NIO pools).',
  },
  'jvm-out-of-memory': {
    says: (f) => `The log shows a JVM OutOfMemoryError${f.subject !== undefined ? ` (${f.subject})` : ''}: the JVM hit one of its own memory limits.`,
    next: () => 'Read the kind after "OutOfMemoryError:" and raise that JVM limit, keeping the container memory limit above the total.',
  },
  'go-panic': {
    cause: { id: 'app-error', from: new Set<CauseId>(['shell-misuse']) },
    says: (f) => `The log shows a Go panic (${f.subject ?? 'panic'}), followed by its goroutine dump: the Go runtime exits with code 2 after a panic, so the code is the program's, not a shell's.`,
    next: () => 'Read the goroutine dump under the panic line for the file and line that panicked (`kubectl logs POD -c C --previous`), and fix or recover from it.',
  },
  'python-module-not-found': {
    says: (f) => `The log shows Python could not import the module ${s(f, 'it needs')}: it is not installed in the image, or PYTHONPATH / the working directory is not where the code expects.`,
    next: () => 'Install the module in the image (requirements.txt, then rebuild), or set workingDir / PYTHONPATH to the directory holding the package.',
  },
  'node-module-not-found': {
    says: (f) => `The log shows Node.js could not find the module ${s(f, 'it needs')}: node_modules is missing from the image (or hidden by a volume mounted over it), or the path is wrong.`,
    next: () => 'Run `npm ci` in the image build and do not mount a volume over /app or node_modules; check the path in command/args and workingDir.',
  },
  'config-file-missing': {
    says: (f) => `The log shows the program could not open its configuration file${f.subject !== undefined ? ` "${f.subject}"` : ''}: no such file; a ConfigMap or Secret volume is not mounted there, a key was renamed, or subPath points elsewhere.`,
    next: () => 'Check the volumeMounts mountPath/subPath and the ConfigMap or Secret keys against the path in the log (`kubectl get configmap NAME -o yaml`).',
  },
  'file-permission-denied': {
    says: (f) => `The log shows the program was denied access to ${s(f, 'a file')}: the container's user cannot read or write it, typically a volume owned by root while the container runs as another user.`,
    next: () => 'Set securityContext.fsGroup (or runAsUser) to a group that may write the volume, or fix the ownership in the image; for hostPath, fix it on the node.',
  },
  'address-in-use': {
    says: (f) => `The log shows the address ${f.subject !== undefined ? `"${f.subject}" ` : ''}is already in use: another process in the pod (a sidecar, or two servers in one container) listens on that port, or hostNetwork shares the node's ports.`,
    next: () => 'Give each container of the pod its own port (they share one network namespace), or, with hostNetwork, pick a port free on every node.',
  },
  'dns-failure': {
    says: (f) => `The log shows a name lookup failed for ${s(f, 'a host')}: the Service name is wrong or in another namespace (use NAME.NAMESPACE), or cluster DNS is not answering.`,
    next: (f) => `Check the host name (\`kubectl get svc -A | grep ${f.subject !== undefined ? f.subject.split('.')[0] : 'NAME'}\`) and DNS from a pod (\`kubectl run dnstest --rm -it --image=busybox -- nslookup HOST\`).`,
  },
  'connection-refused': {
    says: (f) => `The log shows a connection to ${s(f, 'a dependency')} was refused: nothing listened there when the program started (the dependency was not ready, or the Service has no ready endpoints).`,
    next: () => 'Check the dependency is running and ready (`kubectl get endpoints NAME`), and make the program retry at startup (or wait with an init container) instead of exiting.',
  },
}

/** The meanings of the signatures, for documentation and tests. */
export const SIGNATURE_IDS: readonly SignatureId[] = ORDER

export interface LogApplied {
  diagnoses: Diagnosis[]
  /** No diagnosis of that container was one a log could speak to: the log was read but not used. */
  unused: boolean
}

/**
 * Adds what a container's log shows to its diagnoses: the matching line as evidence, a sentence
 * to the summary, a next step, and the cause where the line proves it (the runtime's start
 * failure over a bare exit code; a Go panic over "exit 2 is a shell's"). Only diagnoses of that
 * container whose cause came from its exit are touched; a log that matches nothing adds only a
 * line saying it was read.
 */
export function applyLog(diagnoses: readonly Diagnosis[], container: string, scan: LogScan, source: string): LogApplied {
  let used = false
  const out = diagnoses.map((d) => {
    if (d.container !== container || !REFINABLE.has(d.cause)) return d
    used = true
    const read = `${source}: ${scan.linesRead} line${scan.linesRead === 1 ? '' : 's'} read${scan.cut ? ' (the end of the log only)' : ''}`
    const primary = scan.findings[0]
    if (primary === undefined) return { ...d, evidence: [...d.evidence, `${read}, no known failure signature`] }
    const meaning = MEANINGS[primary.signature]
    const next: Diagnosis = { ...d, evidence: [...d.evidence], next: [...d.next] }
    if (meaning.cause !== undefined && meaning.cause.id !== d.cause && meaning.cause.from.has(d.cause)) {
      next.cause = meaning.cause.id
      // preventedBy named a rule for the old reading; it does not speak to the new cause.
      delete next.preventedBy
    }
    next.summary = `${d.summary} ${meaning.says(primary, container)}`
    next.evidence.push(read)
    for (const f of scan.findings.slice(0, 3)) next.evidence.push(`log line ${f.line} (${f.signature}): ${f.text}`)
    next.next.push(meaning.next(primary))
    return next
  })
  return { diagnoses: out, unused: !used }
}

function containerNames(pod: unknown): string[] {
  const names: string[] = []
  for (const list of ['initContainers', 'containers']) {
    const cs = get(pod, 'spec', list)
    if (!Array.isArray(cs)) continue
    for (const c of cs) {
      const n = str(get(c, 'name'))
      if (n !== undefined) names.push(n)
    }
  }
  return names
}

/** Reads a container's log into the diagnoses of its container; says whose log it must be when that is unclear. */
export function withLog(pod: unknown, diagnoses: Diagnosis[], log: LogInput): { diagnoses: Diagnosis[]; warning?: string } | { error: string } {
  const names = containerNames(pod)
  let container = log.container
  if (container !== undefined) {
    if (names.length > 0 && !names.includes(container)) return { error: `${log.source}: no container "${container}" in the pod (containers: ${names.join(', ')})` }
  } else {
    const failing = [...new Set(diagnoses.flatMap((d) => (d.container !== undefined ? [d.container] : [])))]
    const candidates = names.length === 1 ? names : failing
    if (candidates.length !== 1) {
      return { error: `${log.source}: say whose log this is with --container (the pod has containers ${names.join(', ') || 'not named in the input'})` }
    }
    container = candidates[0] as string
  }
  const scan = scanLog(log.text)
  if (log.cut === true) scan.cut = true
  const applied = applyLog(diagnoses, container, scan, `log of ${container} (${log.source})`)
  if (!applied.unused) return { diagnoses: applied.diagnoses }
  return { diagnoses: applied.diagnoses, warning: `${log.source}: read, but container ${container} has no failed exit for a log to explain` }
}
