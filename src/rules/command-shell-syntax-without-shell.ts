import { defineRule, type RuleFinding } from '../engine/rule.js'
import { argPath, basename, execArgvs, isShell, programIndex, type ExecArgv } from '../engine/command.js'

interface Params {
  selfExpandingPrograms: string[]
}

const DEFAULT_SELF_EXPANDING = ['awk', 'gawk', 'mawk', 'nawk', 'perl', 'ruby', 'php', 'python', 'python3', 'node', 'deno', 'jq', 'yq', 'envsubst', 'sed', 'tclsh', 'expect', 'make']

/** Windows command interpreters join their arguments into one command line and parse it themselves. */
const WINDOWS_SHELLS = new Set(['cmd', 'cmd.exe', 'powershell', 'powershell.exe', 'pwsh', 'pwsh.exe'])
/** Shell operators and redirections when they stand alone as an argument. */
const OPERATORS = new Set(['&&', '||', '|', '|&', ';', '&', '>', '>>', '<', '<<', '&>', '&>>', '>|', '1>', '2>', '2>>', '2>&1', '1>&2', '>&2', '>&1'])
/** A redirection glued to its target: `>/dev/null`, `2>/tmp/err`, `>>app.log`, `&>out`. */
const ATTACHED_REDIRECT = /^(?:[12]?>>?|&>>?)[/~.\w$]/
/** `;` and `+` end `find -exec`. */
const FIND_EXEC = new Set(['-exec', '-execdir', '-ok', '-okdir'])
/** Options whose value is a single delimiter character, such as `cut -d '|'`. */
const DELIMITER_OPTIONS = new Set(['-d', '-F', '-t', '-s', '-S', '--delimiter', '--field-separator', '--separator', '--sep'])
const BRACED = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:\}|:?[-=+?])/y
const BARE = /\$([A-Z_][A-Z0-9_]*)(?![a-z])/y
const HAS_LETTER = /[A-Z]/

/** `$NAME` and `${NAME}` references a shell would expand; `$$` (escaped) and `$(…)` (Kubernetes) are skipped. */
function shellVariables(word: string, braces: boolean): string[] {
  const found: string[] = []
  let i = word.indexOf('$')
  while (i >= 0) {
    const next = word[i + 1]
    if (next === '$' || next === '(') {
      i = word.indexOf('$', i + 2)
      continue
    }
    BRACED.lastIndex = i
    const b = braces ? BRACED.exec(word) : null
    if (b !== null) found.push(`\${${b[1] ?? ''}}`)
    else {
      BARE.lastIndex = i
      const m = BARE.exec(word)
      if (m !== null && HAS_LETTER.test(m[1] ?? '')) found.push(`$${m[1] ?? ''}`)
    }
    i = word.indexOf('$', i + 1)
  }
  return found
}

const SAFE_WORD = /^[\w@%+=:,./${}~*-]+$/

/** A word as it would be written in the suggested `sh -c` line: operators bare, `$NAME` still expanded. */
function quoteWord(w: string): string {
  if (SAFE_WORD.test(w) || OPERATORS.has(w) || ATTACHED_REDIRECT.test(w)) return w
  if (w.includes('$')) return `"${w.replace(/["\\`]/g, '\\$&')}"`
  return `'${w.replace(/'/g, `'\\''`)}'`
}

const programSets = new WeakMap<readonly string[], ReadonlySet<string>>()
function programSet(list: readonly string[]): ReadonlySet<string> {
  let set = programSets.get(list)
  if (set === undefined) {
    set = new Set(list)
    programSets.set(list, set)
  }
  return set
}

interface Hit {
  index: number
  shown: string[]
  operators: boolean
  variables: boolean
}

function scan(e: ExecArgv, p: number, selfExpanding: ReadonlySet<string>): Hit | undefined {
  const name = basename(e.argv[p] ?? '')
  const checkVars = !selfExpanding.has(name)
  const braces = name !== 'java'
  let first = -1
  let operators = false
  let variables = false
  const shown: string[] = []
  let afterFindExec = false
  e.argv.forEach((w, i) => {
    const found: string[] = []
    if (i > 0 && name !== 'tr') {
      const prev = e.argv[i - 1] ?? ''
      const findEnd = afterFindExec && (w === ';' || w === '+')
      const delimiter = DELIMITER_OPTIONS.has(prev) && (w === '|' || w === ';' || w === '&' || w === '|&')
      if (!findEnd && !delimiter && (OPERATORS.has(w) || ATTACHED_REDIRECT.test(w))) {
        found.push(w)
        operators = true
      }
    }
    if (FIND_EXEC.has(w)) afterFindExec = true
    if (checkVars || i <= p) {
      const vars = shellVariables(w, braces || i <= p)
      if (vars.length > 0) variables = true
      found.push(...vars)
    }
    if (found.length > 0) {
      if (first < 0) first = i
      for (const f of found) if (!shown.includes(f)) shown.push(f)
    }
  })
  return first < 0 ? undefined : { index: first, shown, operators, variables }
}

export const rule = defineRule<Params>({
  id: 'command-shell-syntax-without-shell',
  title: 'Shell syntax in a command that runs without a shell',
  defaultAction: 'warn',
  scope: ['static'],
  params: {
    type: 'object',
    properties: {
      selfExpandingPrograms: {
        type: 'array',
        items: { type: 'string', minLength: 1 },
        default: DEFAULT_SELF_EXPANDING,
        description:
          'Programs (by file name) that read `$NAME` in their own arguments, such as awk, perl or jq; `$NAME` in their ' +
          'arguments is not reported. Operators such as `&&` or `|` are still reported.',
      },
    },
    additionalProperties: false,
  },
  docs: {
    summary: 'Operators such as &&, | or > and $VAR references reach a non-shell program as literal arguments.',
    description:
      'Kubernetes runs `command`/`args`, exec probes and exec lifecycle hooks with exec, not through a shell. When the ' +
      'program is not a shell, shell syntax in its arguments means nothing: `&&`, `||`, `|`, `|&`, `;`, `&`, `>`, `>>`, `<`, ' +
      '`2>&1` standing alone, redirections glued to a file (`>/dev/null`, `2>err.log`), and `$NAME` or `${NAME}` references ' +
      '(Kubernetes expands only `$(NAME)` in command and args, and in exec probes from literal env values). Only standalone ' +
      'operator words are reported, so `--format=a|b` or a regex `a|b` stay silent; `$(NAME)`, escaped `$$NAME`, and `$NAME` ' +
      'in lower or mixed case (`$host`, `$i`: program-level variables) are not reported; nor are `;`/`+` ending ' +
      '`find -exec`, a delimiter after `-d`/`-F`/`-t`/`-s`, the arguments of `tr`, `$NAME` in the arguments of programs ' +
      'that expand it themselves (the selfExpandingPrograms param), or `${NAME}` in java arguments (Spring, Log4j and ' +
      'Logback resolve such placeholders). Wrappers are seen through: in `env FOO=1 sh -c "…"` or `tini -- sh -c "…"` the ' +
      'program is the shell and nothing is reported.',
    failure:
      'The program receives `&&`, `|` or `$HOME` as plain arguments: it usually rejects them (exit 1 or 2), tries to open ' +
      'them as files, or runs with a wrong value; nothing after `&&` ever runs. In a probe the probe fails; in a hook the ' +
      'hook fails.',
    fix:
      'Run the line through a shell, e.g. `command: ["sh", "-c", "migrate && exec server"]`, or, for a variable in ' +
      'command/args, write `$(NAME)` so that Kubernetes substitutes it from the container env.',
  },
  check(pod, ctx) {
    const selfExpanding = programSet(ctx.params.selfExpandingPrograms)
    const findings: RuleFinding[] = []
    for (const c of pod.containers) {
      for (const e of execArgvs(c)) {
        const p = programIndex(e.argv)
        if (p < 0) continue
        const prog = e.argv[p] ?? ''
        // A shell reads its own syntax; whitespace in the program name is another rule's finding.
        if (isShell(prog) || WINDOWS_SHELLS.has(basename(prog).toLowerCase()) || /\s/.test(prog)) continue
        const hit = scan(e, p, selfExpanding)
        if (hit === undefined) continue
        const list = hit.shown.slice(0, 3).join(', ')
        const line = e.argv.slice(p).map(quoteWord).join(' ')
        const viaShell = `["sh", "-c", ${JSON.stringify(line)}]`
        const where = e.site === 'process' ? '' : ` (${e.label})`
        const note = hit.variables && e.site === 'process' ? ' (Kubernetes expands only $(VAR))' : ''
        const outcome =
          e.site === 'process'
            ? 'expect exit 1, 2 or 127'
            : e.site === 'postStart' || e.site === 'preStop'
              ? 'the hook will likely fail'
              : 'the probe will likely fail'
        let fix: string
        if (hit.operators || e.site === 'postStart' || e.site === 'preStop') fix = `run it through a shell: ${viaShell}`
        else fix = `write $(NAME) so Kubernetes substitutes it from env, or run it through a shell: ${viaShell}`
        findings.push({
          path: argPath(e, hit.index),
          container: c.name,
          message: `container "${c.name}"${where}: ${prog} runs without a shell, so it gets ${list} as literal text${note}; ${outcome}`,
          fix,
        })
      }
    }
    return findings
  },
})
