/**
 * What a container runs: every exec argv it carries (its command/args, exec probes, exec
 * lifecycle hooks), whether an argv starts a shell and with which script, a small shell
 * tokenizer good enough to see how a script ends, and image repository matching.
 *
 * How the kubelet treats `$(VAR)` differs by place, and the command rules depend on it:
 * - command/args: expanded against the container's full environment (env and envFrom, with
 *   valueFrom values resolved, plus Service link variables);
 * - exec probes: expanded against the `env` list only, using each entry's literal `value`
 *   (an entry set by valueFrom expands to the empty string; envFrom is not consulted);
 * - exec lifecycle hooks (postStart/preStop): not expanded at all.
 * Everything here is pure and caches per container spec object, so the seven command rules
 * share one parse of each script.
 */
import { RecentAnswers, forgetWithRecentAnswers } from './recent.js'
import { checkDeadline } from './deadline.js'
import { ByteBoundedCache, stringBytes } from './bounded-cache.js'
import type { Container } from './k8s.js'
import { containerEnv, expand, expansionRoom, type ContainerEnv, type EnvEntry } from './env.js'
import type { ContainerView, PodView } from './types.js'
import { groupDigits } from '../text/order.js'

// ---------------------------------------------------------------------------------------------
// Exec argv of a container

export type ExecSite = 'process' | 'livenessProbe' | 'readinessProbe' | 'startupProbe' | 'postStart' | 'preStop'

/** How the kubelet expands `$(VAR)` in an argv: see the module comment. */
export type Expansion = 'full' | 'static' | 'none'

export interface ExecArgv {
  site: ExecSite
  /** The words as written: command then args for the process. */
  argv: readonly string[]
  /** The field path of the list: `…command` (or `…args` for a process without command), `…livenessProbe.exec.command`… */
  path: string
  /** The container's path, for paths of single words (see argPath). */
  containerPath: string
  /** For the process: how many of the words come from `command` (the rest from `args`). */
  commandLength: number
  /**
   * False for a process given only `args`: the image's ENTRYPOINT (unknown here) runs first and
   * receives the args. True everywhere else.
   */
  hasCommand: boolean
  expansion: Expansion
  /** The words as the program receives them: `$(VAR)` replaced where the value is known. */
  expanded: readonly string[]
  /** Where it is, for messages: `command`, `livenessProbe exec command`, `preStop hook command`. */
  label: string
}

/** The field path of word `i` of an argv, e.g. `spec.containers[0].args[1]`; the list's path when out of range. */
export function argPath(e: ExecArgv, i: number): string {
  if (i < 0 || i >= e.argv.length) return e.path
  if (e.site !== 'process') return `${e.path}[${i}]`
  return i < e.commandLength ? `${e.containerPath}.command[${i}]` : `${e.containerPath}.args[${i - e.commandLength}]`
}

/** The argvs of the containers seen last, by identity of the spec. Results are shared: do not mutate them. */
const recentArgvs = new RecentAnswers<Container, undefined, undefined, readonly ExecArgv[]>(32)

/** The container's environment for command/args expansion (env.ts, which memoises it per container). */
export function processEnv(c: ContainerView): ContainerEnv {
  return containerEnv(c.spec, c.path)
}

function nonEmpty(list: readonly string[] | undefined): list is readonly string[] {
  return list !== undefined && list.length > 0
}

function hasRef(words: readonly string[]): boolean {
  for (const w of words) if (w.includes('$(')) return true
  return false
}

/** The container's process argv, or undefined when it sets neither command nor args (the image decides). */
export function processArgv(c: ContainerView): ExecArgv | undefined {
  const first = execArgvs(c)[0]
  return first?.site === 'process' ? first : undefined
}

/** Every exec argv of a container: its process (when command or args is set), exec probes, exec hooks. */
export function execArgvs(c: ContainerView): readonly ExecArgv[] {
  return recentArgvs.get(c.spec, undefined, undefined, c, argvsOf)
}

const argvsOf = (_s: Container, _b: undefined, _c: undefined, c: ContainerView): ExecArgv[] => computeArgvs(c)

function computeArgvs(c: ContainerView): ExecArgv[] {
  const out: ExecArgv[] = []
  const spec = c.spec
  const command = nonEmpty(spec.command) ? spec.command : undefined
  const args = nonEmpty(spec.args) ? spec.args : undefined
  if (command !== undefined || args !== undefined) {
    const argv = command === undefined ? (args ?? []) : args === undefined ? command : [...command, ...args]
    let expanded = argv
    if (hasRef(argv)) {
      const vars = processEnv(c).vars
      const room = expansionRoom()
      expanded = argv.map((w) => (w.includes('$(') ? expand(w, vars, room).text : w))
    }
    out.push({
      site: 'process',
      argv,
      path: command !== undefined ? `${c.path}.command` : `${c.path}.args`,
      containerPath: c.path,
      commandLength: command?.length ?? 0,
      hasCommand: command !== undefined,
      expansion: 'full',
      expanded,
      label: command !== undefined ? 'command' : 'args',
    })
  }
  for (const probe of PROBES) {
    const cmd = spec[probe]?.exec?.command
    if (!nonEmpty(cmd)) continue
    let expanded = cmd
    if (hasRef(cmd)) {
      const vars = staticVars(spec)
      const room = expansionRoom()
      expanded = cmd.map((w) => (w.includes('$(') ? expand(w, vars, room).text : w))
    }
    out.push({
      site: probe,
      argv: cmd,
      path: `${c.path}.${probe}.exec.command`,
      containerPath: c.path,
      commandLength: cmd.length,
      hasCommand: true,
      expansion: 'static',
      expanded,
      label: `${probe} exec command`,
    })
  }
  for (const hook of HOOKS) {
    const cmd = spec.lifecycle?.[hook]?.exec?.command
    if (!nonEmpty(cmd)) continue
    out.push({
      site: hook,
      argv: cmd,
      path: `${c.path}.lifecycle.${hook}.exec.command`,
      containerPath: c.path,
      commandLength: cmd.length,
      hasCommand: true,
      expansion: 'none',
      expanded: cmd,
      label: `${hook} hook command`,
    })
  }
  return out
}

const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const
const HOOKS = ['postStart', 'preStop'] as const

/**
 * What a container that fails at start turns into: CrashLoopBackOff when the kubelet restarts
 * it (restartPolicy Always or OnFailure, native sidecars), a failed pod with restartPolicy Never.
 */
export function restartOutcome(pod: PodView, c: ContainerView): string {
  if (c.longRunning) return 'CrashLoopBackOff'
  const policy = pod.spec.restartPolicy ?? 'Always'
  if (policy === 'Never') return 'the pod fails'
  return c.kind === 'initContainer' ? 'Init:CrashLoopBackOff' : 'CrashLoopBackOff'
}

/** What happens when the exec at a probe or hook site fails every time. */
export function execFailure(site: Exclude<ExecSite, 'process'>): string {
  switch (site) {
    case 'livenessProbe':
      return 'the liveness probe fails every time, so the kubelet kills the container again and again (exit 137, CrashLoopBackOff)'
    case 'readinessProbe':
      return 'the readiness probe fails every time: the pod never becomes Ready and gets no Service traffic'
    case 'startupProbe':
      return 'the startup probe fails every time, so the container is killed before it ever starts (CrashLoopBackOff)'
    case 'postStart':
      return 'the postStart hook fails (FailedPostStartHook), so the kubelet kills the container and restarts it'
    case 'preStop':
      return 'the preStop hook fails (FailedPreStopHook) and its shutdown work never happens'
  }
}

/**
 * The variables an exec probe's `$(VAR)` sees: each env entry's literal value, valueFrom entries
 * as the empty string, no envFrom (the kubelet's ExpandContainerCommandOnlyStatic).
 */
export function staticVars(spec: Container): Map<string, EnvEntry> {
  const vars = new Map<string, EnvEntry>()
  ;(spec.env ?? []).forEach((e, i) => {
    if (e.name === undefined) return
    vars.set(e.name, { name: e.name, value: e.valueFrom !== undefined ? '' : (e.value ?? ''), path: `env[${i}]` })
  })
  return vars
}

// ---------------------------------------------------------------------------------------------
// `$(VAR)` references, as the kubelet reads them

export interface KubeRef {
  name: string
  /** Offsets of `$(` and one past `)` in the text. */
  start: number
  end: number
}

/** Every `$(NAME)` the kubelet would try to expand (`$$` escapes are skipped). */
export function kubeRefs(text: string): KubeRef[] {
  const refs: KubeRef[] = []
  let i = text.indexOf('$')
  while (i >= 0 && i < text.length) {
    checkDeadline()
    const next = text[i + 1]
    if (next === '(') {
      const close = text.indexOf(')', i + 2)
      if (close < 0) break
      refs.push({ name: text.slice(i + 2, close), start: i, end: close + 1 })
      i = text.indexOf('$', close + 1)
    } else {
      // `$$` is an escaped `$`; any other `$x` is kept as it is; either way skip two characters.
      i = text.indexOf('$', i + 2)
    }
  }
  return refs
}

/** Kubernetes' classic env var name syntax. */
export const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/
/** A name the way shell scripts write environment variables (upper case). */
export const UPPER_ENV_NAME = /^[A-Z_][A-Z0-9_]*$/
/**
 * Names the kubelet defines from Services (enableServiceLinks): `FOO_SERVICE_HOST`,
 * `FOO_SERVICE_PORT[_NAME]`, `FOO_PORT[_443_TCP[_PROTO|_PORT|_ADDR]]`.
 */
const SERVICE_LINK_NAME = /^[A-Z0-9_]+_(?:SERVICE_HOST|SERVICE_PORT(?:_[A-Z0-9_]+)?|PORT(?:_\d+_(?:TCP|UDP|SCTP)(?:_(?:PROTO|PORT|ADDR))?)?)$/
export function isServiceLinkName(name: string): boolean {
  return SERVICE_LINK_NAME.test(name)
}

// ---------------------------------------------------------------------------------------------
// Programs and shells

export const SHELLS: ReadonlySet<string> = new Set(['sh', 'bash', 'ash', 'dash', 'zsh', 'ksh', 'mksh', 'yash', 'posh'])

/** The file name of a program path (`/usr/bin/python3` → `python3`; Windows `C:\Windows\System32\cmd.exe` → `cmd.exe`). */
export function basename(word: string): string {
  const i = Math.max(word.lastIndexOf('/'), word.lastIndexOf('\\'))
  return i < 0 ? word : word.slice(i + 1)
}

export function isShell(word: string): boolean {
  return SHELLS.has(basename(word))
}

const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/

/**
 * Index of the program that really runs, skipping wrappers that exec their arguments: `env`
 * (options and NAME=VALUE), `nohup`, `setsid`, `tini`/`dumb-init`/`catatonit` (options, `--`),
 * `gosu`/`su-exec` USER, `busybox` APPLET, and in scripts `exec`, `command`, `time`.
 * Returns -1 when the argv holds no program.
 */
export function programIndex(argv: readonly string[], start = 0): number {
  let i = start
  while (i < argv.length) {
    const word = argv[i] ?? ''
    const name = basename(word)
    if (name === 'env') {
      i++
      while (i < argv.length) {
        const a = argv[i] ?? ''
        if (a === '--') {
          i++
          break
        }
        if (a === '-u' || a === '--unset' || a === '-C' || a === '--chdir') i += 2
        else if (a.startsWith('-') || ASSIGNMENT.test(a)) i++
        else break
      }
      continue
    }
    if (name === 'nohup' || name === 'setsid' || name === 'exec' || name === 'command' || name === 'time') {
      i++
      while (i < argv.length && (argv[i] ?? '').startsWith('-') && name !== 'nohup') i++
      continue
    }
    if (name === 'tini' || name === 'tini-static' || name === 'dumb-init' || name === 'catatonit') {
      i++
      while (i < argv.length) {
        const a = argv[i] ?? ''
        if (a === '--') {
          i++
          break
        }
        if (!a.startsWith('-')) break
        i += a === '-p' || a === '-e' || a === '-r' || a === '--rewrite' ? 2 : 1
      }
      continue
    }
    if (name === 'gosu' || name === 'su-exec') {
      i += 2
      continue
    }
    if (name === 'busybox' && i + 1 < argv.length && !(argv[i + 1] ?? '').startsWith('-')) {
      i++
      continue
    }
    return i
  }
  return -1
}

export interface ShellInvocation {
  /** Index of the shell in the argv. */
  index: number
  /** The shell's name: `sh`, `bash`… */
  shell: string
  /** `command`: `-c SCRIPT`; `file`: runs a script file; `stdin`: reads commands from stdin. */
  mode: 'command' | 'file' | 'stdin'
  /** Index of the script (mode `command`) or of the script file (mode `file`); -1 otherwise. */
  scriptIndex: number
}

/**
 * Whether the argv runs a shell, and how: `sh -c`, `/bin/sh -ec`, `bash -o pipefail -c`,
 * `bash -c -x`, `busybox sh -c`, `env X=1 sh -c`, `tini -- sh -c`...
 */
export function shellInvocation(argv: readonly string[]): ShellInvocation | undefined {
  const p = programIndex(argv)
  if (p < 0) return undefined
  const shell = basename(argv[p] ?? '')
  if (!SHELLS.has(shell)) return undefined
  let commandMode = false
  let i = p + 1
  while (i < argv.length) {
    const a = argv[i] ?? ''
    if (a === '--' || a === '-') {
      i++
      break
    }
    if (a.startsWith('--')) {
      i += a === '--rcfile' || a === '--init-file' ? 2 : 1
      continue
    }
    if ((a.startsWith('-') || a.startsWith('+')) && a.length > 1) {
      const letters = a.slice(1)
      if (a.startsWith('-') && letters.includes('c')) commandMode = true
      // -o NAME / -O NAME take the next word.
      i += letters.includes('o') || letters.includes('O') ? 2 : 1
      continue
    }
    break
  }
  if (commandMode) return { index: p, shell, mode: 'command', scriptIndex: i < argv.length ? i : -1 }
  if (i < argv.length) return { index: p, shell, mode: 'file', scriptIndex: i }
  return { index: p, shell, mode: 'stdin', scriptIndex: -1 }
}

// ---------------------------------------------------------------------------------------------
// A shell tokenizer, enough to see the structure of a `sh -c` script

/** A simple command of a script, with where it stands. */
export interface ShellCommand {
  /** Its words with quotes removed; leading reserved words, assignments and redirections left out. */
  words: string[]
  /** Reserved words before the words: `if`, `then`, `do`, `done`, `{`, `(`, `)`, `!`... */
  reserved: string[]
  /** NAME=VALUE words before the command name. */
  assignments: string[]
  /** How many if/while/until/for/case/{…}/(…) constructs enclose the words; 0 at top level. */
  depth: number
  /** The operator before it: '' at the start, `;`, `\n`, `&`, `&&`, `||`, `|`, `|&`, `;;`. */
  before: string
  /** The operator after it: the same set, '' at the end of the script. */
  after: string
  /** True for the header of `for x in …` / `case WORD in`: words, but not a command. */
  header: boolean
}

type Token = { type: 'word'; text: string; quoted: boolean } | { type: 'op'; text: string } | { type: 'redir'; text: string; target: boolean }

/** Index one past the `)` matching the `(` at `open`, skipping quotes and escapes. */
function matchParen(src: string, open: number): number {
  let depth = 0
  let j = open
  while (j < src.length) {
    const ch = src[j]
    if (ch === '\\') j += 2
    else if (ch === "'") {
      const close = src.indexOf("'", j + 1)
      j = close < 0 ? src.length : close + 1
    } else if (ch === '"') j = skipDouble(src, j)
    else {
      if (ch === '(') depth++
      else if (ch === ')') {
        depth--
        if (depth === 0) return j + 1
      }
      j++
    }
  }
  return src.length
}

/** Index one past the `}` matching the `{` at `open`. */
function matchBrace(src: string, open: number): number {
  let depth = 0
  for (let j = open; j < src.length; j++) {
    const ch = src[j]
    if (ch === '\\') j++
    else if (ch === '{') depth++
    else if (ch === '}' && --depth === 0) return j + 1
  }
  return src.length
}

/** Index one past the closing quote of the double-quoted string at `open`. */
function skipDouble(src: string, open: number): number {
  for (let j = open + 1; j < src.length; j++) {
    const ch = src[j]
    if (ch === '\\') j++
    else if (ch === '"') return j + 1
  }
  return src.length
}

function skipBacktick(src: string, open: number): number {
  for (let j = open + 1; j < src.length; j++) {
    const ch = src[j]
    if (ch === '\\') j++
    else if (ch === '`') return j + 1
  }
  return src.length
}

const OP_START = new Set(['&', '|', ';', '(', ')', '<', '>'])
const BLANK = new Set([' ', '\t', '\r'])
const DIGITS = /^\d+$/
/** Characters that end a run of plain word characters (everything the lexer's branches look at). */
const WORD_SPECIAL = new Set([' ', '\t', '\r', '\n', '\\', "'", '"', '$', '`', '&', '|', ';', '(', ')', '<', '>'])
/** Characters that end a plain run inside double quotes. */
const DOUBLE_SPECIAL = new Set(['"', '\\', '$', '`'])

function lex(src: string): Token[] {
  const tokens: Token[] = []
  const heredocs: { delim: string; strip: boolean }[] = []
  let word = ''
  let inWord = false
  let quoted = false
  const endWord = (): void => {
    if (inWord) tokens.push({ type: 'word', text: word, quoted })
    word = ''
    inWord = false
    quoted = false
  }
  let i = 0
  const n = src.length
  while (i < n) {
    checkDeadline()
    const ch = src[i] ?? ''
    if (BLANK.has(ch)) {
      endWord()
      i++
      continue
    }
    if (ch === '\n') {
      endWord()
      tokens.push({ type: 'op', text: '\n' })
      i++
      if (heredocs.length > 0) i = skipHeredocs(src, i, heredocs.splice(0))
      continue
    }
    if (ch === '#' && !inWord) {
      const nl = src.indexOf('\n', i)
      i = nl < 0 ? n : nl
      continue
    }
    if (ch === '\\') {
      if (src[i + 1] === '\n') {
        i += 2
        continue
      }
      if (i + 1 < n) word += src[i + 1] ?? ''
      inWord = true
      quoted = true
      i += 2
      continue
    }
    if (ch === "'") {
      const close = src.indexOf("'", i + 1)
      const end = close < 0 ? n : close
      word += src.slice(i + 1, end)
      inWord = true
      quoted = true
      i = end + 1
      continue
    }
    if (ch === '"') {
      let j = i + 1
      while (j < n && src[j] !== '"') {
        const c = src[j] ?? ''
        const next = src[j + 1] ?? ''
        if (c === '\\' && '$`"\\\n'.includes(next) && next !== '') {
          if (next !== '\n') word += next
          j += 2
        } else if (c === '$' && next === '(') {
          const k = matchParen(src, j + 1)
          word += src.slice(j, k)
          j = k
        } else if (c === '`') {
          const k = skipBacktick(src, j)
          word += src.slice(j, k)
          j = k
        } else {
          // A run of plain characters is copied as one slice.
          let k = j + 1
          while (k < n && !DOUBLE_SPECIAL.has(src[k] ?? '')) k++
          word += src.slice(j, k)
          j = k
        }
      }
      inWord = true
      quoted = true
      i = j + 1
      continue
    }
    if (ch === '$' && src[i + 1] === '(') {
      const k = matchParen(src, i + 1)
      word += src.slice(i, k)
      inWord = true
      i = k
      continue
    }
    if (ch === '$' && src[i + 1] === '{') {
      const k = matchBrace(src, i + 1)
      word += src.slice(i, k)
      inWord = true
      i = k
      continue
    }
    if (ch === '`') {
      const k = skipBacktick(src, i)
      word += src.slice(i, k)
      inWord = true
      i = k
      continue
    }
    if (OP_START.has(ch)) {
      if (ch === '<' || ch === '>' || (ch === '&' && src[i + 1] === '>')) {
        let fd = ''
        if (inWord && !quoted && DIGITS.test(word)) {
          fd = word
          word = ''
          inWord = false
        } else endWord()
        let op = ch
        let j = i + 1
        if (ch === '&') {
          op = '&>'
          j = i + 2
          if (src[j] === '>') {
            op += '>'
            j++
          }
        } else if (ch === '>' && (src[j] === '>' || src[j] === '|' || src[j] === '&')) {
          op += src[j] ?? ''
          j++
        } else if (ch === '<' && (src[j] === '<' || src[j] === '&' || src[j] === '>')) {
          op += src[j] ?? ''
          j++
          if (op === '<<' && src[j] === '-') {
            op += '-'
            j++
          } else if (op === '<<' && src[j] === '<') {
            op += '<'
            j++
          }
        }
        if (op === '<<' || op === '<<-') {
          // The delimiter word; the body starts on the next line.
          while (j < n && BLANK.has(src[j] ?? '')) j++
          let delim = ''
          while (j < n && !BLANK.has(src[j] ?? '') && src[j] !== '\n' && !OP_START.has(src[j] ?? '')) {
            const c = src[j] ?? ''
            if (c !== '"' && c !== "'" && c !== '\\') delim += c
            j++
          }
          heredocs.push({ delim, strip: op === '<<-' })
          tokens.push({ type: 'redir', text: fd + op, target: false })
        } else {
          // `>&2`, `2>&1`: the fd after `&` is the target word.
          tokens.push({ type: 'redir', text: fd + op, target: true })
        }
        i = j
        continue
      }
      endWord()
      const two = src.slice(i, i + 2)
      if (two === '&&' || two === '||' || two === ';;' || two === '|&') {
        tokens.push({ type: 'op', text: two })
        i += 2
      } else {
        tokens.push({ type: 'op', text: ch })
        i++
      }
      continue
    }
    // A run of plain characters is copied as one slice, not one character at a time.
    let k = i + 1
    while (k < n && !WORD_SPECIAL.has(src[k] ?? '')) k++
    word += src.slice(i, k)
    inWord = true
    i = k
  }
  endWord()
  return tokens
}

function skipHeredocs(src: string, start: number, docs: { delim: string; strip: boolean }[]): number {
  let i = start
  for (const doc of docs) {
    while (i < src.length) {
      const nl = src.indexOf('\n', i)
      const end = nl < 0 ? src.length : nl
      let line = src.slice(i, end)
      if (doc.strip) line = line.replace(/^\t+/, '')
      i = end + 1
      if (line === doc.delim) break
    }
  }
  return Math.min(i, src.length)
}

const OPENERS = new Set(['if', 'while', 'until', 'for', 'case', 'select', '{'])
const MIDDLES = new Set(['then', 'do', 'else', 'elif', '!'])
const CLOSERS = new Set(['fi', 'done', 'esac', '}'])

/**
 * Parsed scripts, shared across reviews: the same few entrypoint scripts come back all day.
 * Bounded in bytes: a parse takes roughly eight times the script's own bytes (word slices,
 * token and command objects), scripts above 16 KiB are never kept, and the whole holds 8 MiB.
 */
const scriptCache = new ByteBoundedCache<string, ShellCommand[]>({
  maxBytes: 8 << 20,
  maxEntryBytes: 16 * 1024 * 2 * 8,
  sizeOf: (script, commands) => stringBytes(script) * 8 + commands.length * 64,
})
/** The last script too large for the cache: the rules of one object ask for it one after the other; forgotten after the object. */
let lastLarge: { script: string; commands: ShellCommand[] } | undefined
forgetWithRecentAnswers(() => {
  lastLarge = undefined
})

/**
 * The longest script analysed: 1.5 MiB, the most etcd stores for a whole object by default, so
 * no script of a real object is longer. A parse holds several times the script in tokens; a
 * longer one (possible only in a hand-made review or file) makes the rule that asked say it
 * could not judge the object, instead of holding hundreds of megabytes.
 */
export const MAX_SCRIPT_LENGTH = 1_572_864

export class ScriptTooLongError extends Error {
  constructor(length: number) {
    super(`a shell script of ${groupDigits(length)} characters is longer than pod-preflight analyses (${groupDigits(MAX_SCRIPT_LENGTH)}, the most etcd stores for an object)`)
  }
}

/** Splits a shell script into its simple commands, with nesting depth and the operators around each. Linear in the script. */
export function parseScript(script: string): ShellCommand[] {
  if (script.length > MAX_SCRIPT_LENGTH) throw new ScriptTooLongError(script.length)
  const hit = scriptCache.get(script)
  if (hit !== undefined) return hit
  if (lastLarge !== undefined && lastLarge.script === script) return lastLarge.commands
  const commands = assemble(lex(script))
  if (!scriptCache.set(script, commands)) lastLarge = { script, commands }
  return commands
}

function assemble(tokens: Token[]): ShellCommand[] {
  const commands: ShellCommand[] = []
  const stack: string[] = []
  let cur: ShellCommand = { words: [], reserved: [], assignments: [], depth: 0, before: '', after: '', header: false }
  let atStart = true
  let skipTarget = false
  const finish = (op: string): void => {
    if (cur.words.length === 0) cur.depth = stack.length
    cur.after = op
    if (cur.words.length > 0 || cur.reserved.length > 0 || cur.assignments.length > 0) commands.push(cur)
    cur = { words: [], reserved: [], assignments: [], depth: stack.length, before: op, after: '', header: false }
    atStart = true
  }
  for (let t = 0; t < tokens.length; t++) {
    checkDeadline()
    const tok = tokens[t]
    if (tok === undefined) continue
    if (tok.type === 'word') {
      if (skipTarget) {
        skipTarget = false
        continue
      }
      const w = tok.text
      if (atStart && !tok.quoted) {
        if (OPENERS.has(w)) {
          cur.reserved.push(w)
          stack.push(w)
          if (w === 'for' || w === 'select' || w === 'case') {
            // `for x in a b c` and `case WORD in`: not a command; the header runs to the next separator.
            const header = headerWords(tokens, t + 1)
            cur.words.push(...header)
            t += header.length
            cur.depth = stack.length
            cur.header = true
            atStart = false
          }
          continue
        }
        if (MIDDLES.has(w)) {
          cur.reserved.push(w)
          continue
        }
        if (CLOSERS.has(w)) {
          cur.reserved.push(w)
          stack.pop()
          continue
        }
      }
      if (atStart && ASSIGNMENT.test(w)) {
        cur.assignments.push(w)
        continue
      }
      if (cur.words.length === 0) cur.depth = stack.length
      cur.words.push(w)
      atStart = false
      continue
    }
    if (tok.type === 'redir') {
      skipTarget = tok.target
      continue
    }
    const op = tok.text
    if (op === '(') {
      // `name() {` defines a function: skip the `()`.
      const next = tokens[t + 1]
      if (next?.type === 'op' && next.text === ')') {
        t++
        cur.words = []
        atStart = true
        continue
      }
      if (stack[stack.length - 1] === 'case') continue
      stack.push('(')
      cur.reserved.push('(')
      continue
    }
    if (op === ')') {
      if (stack[stack.length - 1] === 'case') {
        // The end of a case pattern: the words so far were the pattern.
        cur.words = []
        cur.header = false
        atStart = true
        continue
      }
      finish(')')
      stack.pop()
      cur.depth = stack.length
      cur.reserved.push(')')
      continue
    }
    finish(op)
  }
  finish('')
  return commands
}

function headerWords(tokens: Token[], from: number): string[] {
  const out: string[] = []
  for (let t = from; t < tokens.length; t++) {
    const tok = tokens[t]
    if (tok === undefined || tok.type !== 'word') break
    out.push(tok.text)
  }
  return out
}

/** The commands of a pipeline that starts at `index`; returns the index of its last command. */
function pipelineEnd(commands: readonly ShellCommand[], index: number): number {
  let k = index
  while (k < commands.length - 1 && (commands[k]?.after === '|' || commands[k]?.after === '|&')) k++
  return k
}

/** True when the command at `index` runs in the background (`cmd &`, or a pipeline ending in `&`). */
export function isBackgrounded(commands: readonly ShellCommand[], index: number): boolean {
  return commands[pipelineEnd(commands, index)]?.after === '&'
}

/**
 * The top-level commands that run unconditionally, in order, and in the foreground: depth 0,
 * not after `||` (runs only when the previous command fails), not sent to the background.
 */
export function mainPath(commands: readonly ShellCommand[]): { cmd: ShellCommand; index: number }[] {
  const out: { cmd: ShellCommand; index: number }[] = []
  commands.forEach((cmd, index) => {
    if (cmd.depth !== 0 || cmd.words.length === 0 || cmd.header || cmd.before === '||') return
    if (isBackgrounded(commands, index)) return
    out.push({ cmd, index })
  })
  return out
}

/** The last command of a script that carries words or a reserved word (e.g. `done`), if any. */
export function lastCommand(commands: readonly ShellCommand[]): ShellCommand | undefined {
  for (let k = commands.length - 1; k >= 0; k--) {
    const cmd = commands[k]
    if (cmd !== undefined && (cmd.words.length > 0 || cmd.reserved.length > 0)) return cmd
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------
// Commands that never return, and sleeps

const DURATION = /^(\d+(?:\.\d*)?|\.\d+)([smhd]?)$/
const UNIT: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }

/**
 * Seconds a `sleep` with these arguments waits (GNU and busybox add up several arguments and
 * accept s/m/h/d suffixes); Infinity for `infinity`; undefined when not a literal duration.
 */
export function sleepSeconds(args: readonly string[]): number | undefined {
  if (args.length === 0) return undefined
  let total = 0
  for (const a of args) {
    const lower = a.toLowerCase()
    if (lower === 'infinity' || lower === 'inf') return Infinity
    const m = DURATION.exec(a)
    if (m === null) return undefined
    total += Number(m[1]) * (UNIT[m[2] ?? ''] ?? 1)
  }
  return total
}

/** Seconds a sleep command waits when `words` (from the program on) is `sleep …`; undefined otherwise. */
export function sleepOf(words: readonly string[], from = 0): number | undefined {
  const p = programIndex(words, from)
  if (p < 0 || basename(words[p] ?? '') !== 'sleep') return undefined
  return sleepSeconds(words.slice(p + 1))
}

const FOLLOW_FLAG = /^-[a-zA-Z]*[fF][a-zA-Z]*$/

/** What a simple command that never returns looks like: `sleep infinity` (or ≥ minSleep), `tail -f …`. */
export function foreverCommand(words: readonly string[], minSleep: number): string | undefined {
  const p = programIndex(words)
  if (p < 0) return undefined
  const name = basename(words[p] ?? '')
  const rest = words.slice(p + 1)
  if (name === 'sleep') {
    const s = sleepSeconds(rest)
    if (s !== undefined && s >= minSleep) return `sleep ${rest.join(' ')}`
    return undefined
  }
  if (name === 'tail' && rest.some((a) => FOLLOW_FLAG.test(a) || a === '--follow' || a.startsWith('--follow='))) {
    return `tail ${rest.join(' ')}`
  }
  return undefined
}

const ENDLESS_CONDITION = new Set(['true', ':', '/bin/true', '/usr/bin/true', '[ 1 ]', '[ true ]', 'test 1'])
const LOOP_EXITS = new Set(['break', 'exit', 'return'])

/**
 * A `while true` / `while :` / `until false` loop at top level whose body never breaks or exits,
 * and that is not sent to the background. Returns its condition text.
 */
export function endlessLoop(commands: readonly ShellCommand[]): string | undefined {
  for (let k = 0; k < commands.length; k++) {
    const cmd = commands[k]
    if (cmd === undefined || cmd.depth !== 1 || cmd.before === '||') continue
    const opener = cmd.reserved[cmd.reserved.length - 1]
    if (opener !== 'while' && opener !== 'until') continue
    // Only a loop that starts at top level: the opener is the only frame.
    if (cmd.reserved.some((r) => OPENERS.has(r) && r !== opener)) continue
    const cond = cmd.words.join(' ')
    const endless = opener === 'while' ? ENDLESS_CONDITION.has(cond) : cond === 'false' || cond === '/bin/false'
    if (!endless) continue
    let exits = false
    let closed: ShellCommand | undefined
    for (let j = k + 1; j < commands.length; j++) {
      const body = commands[j]
      if (body === undefined) continue
      const prog = programIndex(body.words)
      if (prog >= 0 && LOOP_EXITS.has(body.words[prog] ?? '')) exits = true
      if (body.depth === 0 && body.reserved.includes('done')) {
        closed = body
        break
      }
    }
    if (exits) continue
    // `while true; do …; done &` runs in the background; an unclosed loop is a syntax error.
    if (closed === undefined || closed.after === '&' || closed.after === '|') continue
    return `${opener} ${cond}`
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------
// Images

/** The repository path of an image reference: lower case, with registry, without tag and digest. */
export function imageRepository(image: string): string {
  let ref = image.trim().toLowerCase()
  const at = ref.indexOf('@')
  if (at >= 0) ref = ref.slice(0, at)
  const slash = ref.lastIndexOf('/')
  const colon = ref.lastIndexOf(':')
  if (colon > slash) ref = ref.slice(0, colon)
  return ref
}

/**
 * The first pattern the image's repository matches, or undefined. A pattern names the last path
 * components of the repository (`alpine`, `opensuse/leap`, `distroless/static`), so a registry
 * or mirror prefix does not matter; a trailing `*` matches any rest of the last component
 * (`distroless/static*` matches `gcr.io/distroless/static-debian12`). `myorg/alpine-nginx`
 * does not match `alpine`.
 */
export function imageMatches(image: string, patterns: readonly string[]): string | undefined {
  const parts = imageRepository(image).split('/')
  const last = parts[parts.length - 1] ?? ''
  for (const pattern of compiled(patterns)) {
    // Most patterns are one component: compare the last component first.
    if (pattern.prefix ? !last.startsWith(pattern.lastPart) : last !== pattern.lastPart) continue
    const want = pattern.parts
    if (want.length > parts.length) continue
    const offset = parts.length - want.length
    let ok = true
    for (let k = 0; k < want.length - 1 && ok; k++) ok = parts[offset + k] === want[k]
    if (ok) return pattern.text
  }
  return undefined
}

interface ImagePattern {
  text: string
  parts: string[]
  /** The last component without its `*`. */
  lastPart: string
  prefix: boolean
}

const patternCache = new WeakMap<readonly string[], ImagePattern[]>()

/** Patterns split once per list (policy params are built once and reused). */
function compiled(patterns: readonly string[]): ImagePattern[] {
  let out = patternCache.get(patterns)
  if (out === undefined) {
    out = patterns.map((text) => {
      const parts = text.toLowerCase().split('/')
      const lastRaw = parts[parts.length - 1] ?? ''
      const prefix = lastRaw.endsWith('*')
      return { text, parts, lastPart: prefix ? lastRaw.slice(0, -1) : lastRaw, prefix }
    })
    patternCache.set(patterns, out)
  }
  return out
}

/** Shortens a script for a message. */
export function excerpt(text: string, max = 60): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`
}
