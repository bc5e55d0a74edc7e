/**
 * `pod-preflight completion bash|zsh|fish`: a completion script made from the commands' own
 * definitions (subcommands, their options, the values of -o and --color) and the rule ids.
 */
import type { Command, Option } from 'commander'
import { RULES } from '../../rules/index.js'
import { EXIT_OK, UsageError, type CliIO } from '../io.js'
import { COLOR_MODES, optionInfo, type CommandContext, type CommandSpec } from '../command.js'
import { quote } from '../../text/sanitize.js'

const SHELLS = ['bash', 'zsh', 'fish'] as const
type Shell = (typeof SHELLS)[number]

export const command: CommandSpec = {
  configure(cmd, { prog }) {
    cmd
      .description(
        'Prints a shell completion script. Load it with:\n' +
          `  bash:  source <(${prog} completion bash)     (or save it in /etc/bash_completion.d/)\n` +
          `  zsh:   source <(${prog} completion zsh)\n` +
          `  fish:  ${prog} completion fish | source`,
      )
      .argument('<shell>', 'bash, zsh or fish')
  },
  action: (_opts, operands, io, ctx) => completion(operands[0] ?? '', io, ctx),
}

interface CommandInfo {
  name: string
  summary: string
  /** Option words: --long and -s. */
  flags: string[]
  /** Flags that take a value, with the words it can be ('' means a file name). */
  values: Map<string, string[] | ''>
  /** Words for operands; undefined means file names. */
  operands: string[] | undefined
  options: readonly Option[]
}

/** Operand words of commands whose operands are not files; none for a command without operands. */
function operandWords(cmd: Command): string[] | undefined {
  if (cmd.name() === 'rules') return RULES.map((r) => r.id)
  if (cmd.name() === 'completion') return [...SHELLS]
  if (cmd.registeredArguments.length === 0) return []
  return undefined
}

function describe(cmd: Command): CommandInfo {
  const flags: string[] = []
  const values = new Map<string, string[] | ''>()
  const visible = cmd.options.filter((o) => !o.hidden)
  for (const o of visible) {
    const words = [o.long, o.short].filter((w): w is string => w !== undefined)
    flags.push(...words)
    if (!o.required && !o.optional) continue
    const argName = /<(\w[\w-]*)>|\[(\w[\w-]*)\]/.exec(o.flags)
    const arg = argName?.[1] ?? argName?.[2] ?? ''
    let v: string[] | ''
    const listed = optionInfo(o).values
    if (listed !== undefined) v = [...listed]
    else if (o.long === '--output') v = formatsOf(o)
    else if (o.long === '--color') v = [...COLOR_MODES]
    else if (o.long === '--fail-on') v = ['deny', 'warn', 'info']
    else if (o.long === '--log-level') v = ['fatal', 'error', 'warn', 'info', 'debug', 'trace']
    else if (o.argChoices !== undefined) v = [...o.argChoices]
    else if (/file|path/.test(arg)) v = ''
    else v = []
    for (const w of words) values.set(w, v)
  }
  flags.push('--help')
  return { name: cmd.name(), summary: cmd.description().split('\n')[0] ?? '', flags, values, operands: operandWords(cmd), options: visible }
}

/** The formats an -o option lists in its description ("output format: text, json (default: text)"). */
function formatsOf(o: Option): string[] {
  const m = /output format: ([\w, ]+?) \(default/.exec(o.description)
  return m?.[1]?.split(', ') ?? []
}

const fnName = (prog: string): string => `_${prog.replace(/[^A-Za-z0-9]/g, '_')}`

/** Words for shell scripts are our own ids and flags; refuse anything a shell could read as code. */
function safeWords(words: readonly string[]): string {
  for (const w of words) if (!/^[A-Za-z0-9_.,=/:-]+$/.test(w)) throw new Error(`completion word '${w}' is not shell-safe`)
  return words.join(' ')
}

export function bashScript(commands: readonly CommandInfo[], bins: readonly string[]): string {
  const fn = fnName(bins[0] ?? 'pod-preflight')
  const cases = commands
    .map((c) => {
      const valueCases = [...groupValues(c.values)]
        .map(([words, flags]) => `        ${flags.join('|')}) ${words === '' ? 'COMPREPLY=( $(compgen -f -- "$cur") )' : `COMPREPLY=( $(compgen -W "${safeWords(words.split(' ').filter((w) => w !== ''))}" -- "$cur") )`}; return ;;`)
        .join('\n')
      const operands = c.operands === undefined ? 'COMPREPLY=( $(compgen -f -- "$cur") )' : `COMPREPLY=( $(compgen -W "${safeWords(c.operands)}" -- "$cur") )`
      return `    ${c.name})
      case "$prev" in
${valueCases}
      esac
      if [[ "$cur" == -* ]]; then
        COMPREPLY=( $(compgen -W "${safeWords(c.flags)}" -- "$cur") )
      else
        ${operands}
      fi
      ;;`
    })
    .join('\n')
  return `# bash completion for ${bins.join(', ')}
${fn}() {
  local cur prev cmd i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev=""
  (( COMP_CWORD > 0 )) && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cmd=""
  for (( i = 1; i < COMP_CWORD; i++ )); do
    case "\${COMP_WORDS[i]}" in
      -*) ;;
      *) cmd="\${COMP_WORDS[i]}"; break ;;
    esac
  done
  COMPREPLY=()
  case "$cmd" in
    "")
      COMPREPLY=( $(compgen -W "${safeWords([...commands.map((c) => c.name), 'help', '--help', '--version'])}" -- "$cur") )
      ;;
${cases}
  esac
  return 0
}
${bins.map((b) => `complete -o default -F ${fn} ${b}`).join('\n')}
`
}

/** Flags grouped by the words their value completes to (space-joined, '' for files). */
function groupValues(values: Map<string, string[] | ''>): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const [flag, words] of values) {
    const key = words === '' ? '' : words.length === 0 ? '\0' : words.join(' ')
    if (key === '\0') continue
    out.set(key, [...(out.get(key) ?? []), flag])
  }
  return out
}

function zshScript(commands: readonly CommandInfo[], bins: readonly string[]): string {
  // zsh runs bash completion functions through bashcompinit, which keeps the two in step.
  return `#compdef ${bins.join(' ')}
# zsh completion for ${bins.join(', ')}
autoload -U +X bashcompinit && bashcompinit
${bashScript(commands, bins)}`
}

function fishQuote(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
}

function fishScript(commands: readonly CommandInfo[], bins: readonly string[]): string {
  const lines: string[] = [`# fish completion for ${bins.join(', ')}`]
  const names = safeWords(commands.map((c) => c.name))
  for (const bin of bins) {
    lines.push(`complete -c ${bin} -f`)
    for (const c of commands) lines.push(`complete -c ${bin} -n "not __fish_seen_subcommand_from ${names}" -a ${c.name} -d ${fishQuote(c.summary)}`)
    for (const c of commands) {
      const when = `-n "__fish_seen_subcommand_from ${c.name}"`
      for (const o of c.options) {
        const parts = [`complete -c ${bin} ${when}`]
        if (o.short !== undefined) parts.push(`-s ${o.short.replace(/^-/, '')}`)
        if (o.long !== undefined) parts.push(`-l ${o.long.replace(/^--/, '')}`)
        const v = o.long !== undefined ? c.values.get(o.long) : undefined
        if (v === '') parts.push('-r -F')
        else if (v !== undefined && v.length > 0) parts.push(`-x -a ${fishQuote(v.join(' '))}`)
        else if (o.required || o.optional) parts.push('-x')
        parts.push(`-d ${fishQuote(o.description.split('\n')[0] ?? '')}`)
        lines.push(parts.join(' '))
      }
      if (c.operands === undefined) lines.push(`complete -c ${bin} ${when} -F`)
      else if (c.operands.length > 0) lines.push(`complete -c ${bin} ${when} -a ${fishQuote(c.operands.join(' '))}`)
    }
  }
  return `${lines.join('\n')}\n`
}

async function completion(shell: string, io: CliIO, { prog }: CommandContext): Promise<number> {
  if (!(SHELLS as readonly string[]).includes(shell)) throw new UsageError(`no completion for ${quote(shell)}: choose bash, zsh or fish`)
  const { loadAllCommands } = await import('../main.js')
  const commands = (await loadAllCommands(io)).map(describe)
  // As a kubectl plugin, kubectl completes 'kubectl preflight' through kubectl_complete-preflight;
  // the script completes the plugin's own executable name.
  const bins = prog === 'kubectl preflight' ? ['kubectl-preflight'] : ['pod-preflight', 'kubectl-preflight']
  const script = (shell as Shell) === 'bash' ? bashScript(commands, bins) : shell === 'zsh' ? zshScript(commands, bins) : fishScript(commands, bins)
  io.stdout.write(script)
  return EXIT_OK
}
