/**
 * The one way commands read their arguments: commander, with the conventions every command
 * shares (kubectl's where it has one). A command module exports a `CommandSpec`; `runCommand`
 * parses its arguments and calls its action. The helpers below add the shared options so that
 * `-o`, `-f`, `-n`, `--kubeconfig`, `--color` read and behave the same in every command.
 */
import { writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { Command, CommanderError, Option } from 'commander'
import { EXIT_OK, UsageError, type CliIO } from './io.js'
import { quote } from '../text/sanitize.js'

export interface CommandSpec<O extends object = Record<string, unknown>> {
  /** Declares arguments, options and help text on the commander Command. */
  configure(cmd: Command, ctx: CommandContext): void
  /** Runs with the parsed options and the operands; returns the exit status. */
  action(opts: O, operands: string[], io: CliIO, ctx: CommandContext): Promise<number>
}

export interface CommandContext {
  /** How the user invoked us: 'pod-preflight', or 'kubectl preflight' as a kubectl plugin. */
  prog: string
  /** The command's name ('check'). */
  name: string
}

export const DEFAULT_PROG = 'pod-preflight'

/** 'pod-preflight', or 'kubectl preflight' when run as the kubectl plugin. */
export function progName(io: Pick<CliIO, 'prog'>): string {
  return io.prog ?? DEFAULT_PROG
}

/** The program name from how the process was started (argv[1] for node, execPath for a single executable). */
export function progFromInvocation(argv1: string | undefined, execPath: string): string {
  const base = (p: string | undefined): string => (p ?? '').split(/[\\/]/).pop() ?? ''
  const names = [base(argv1), base(execPath)]
  return names.some((n) => /^kubectl-preflight(\.js|\.exe)?$/.test(n)) ? 'kubectl preflight' : DEFAULT_PROG
}

/** Commander setup shared by the root program and every command: our streams, no process.exit. */
export function prepare(cmd: Command, io: CliIO): Command {
  return cmd
    .exitOverride()
    .allowExcessArguments(false)
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
      // Errors are thrown (exitOverride) and printed once, by main, with the command's name.
      outputError: () => undefined,
    })
    .helpOption('-h, --help', 'show this help')
}

/**
 * Older spellings that commander reads differently: a bare `--color` meant "always" and took
 * no value (`--color dir/` must not read dir/ as the colour mode).
 */
export function normalizeArgs(args: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? ''
    if (a === '--') {
      out.push(...args.slice(i))
      break
    }
    if (a === '--color' && !COLOR_MODES.includes(args[i + 1] as ColorMode)) out.push('--color=always')
    else out.push(a)
  }
  return out
}

/** A commander error as our UsageError, with a pointer to the command's help. */
export function usageFromCommander(err: CommanderError, help: string): UsageError {
  const message = err.message.replace(/^error: /, '').replace(/\n\(Did you mean/, ' (Did you mean')
  return new UsageError(`${message}\nRun '${help} --help' for ${help.includes(' ') ? 'its options' : 'the commands'}.`)
}

/** Exit codes commander uses for help and version, which are not errors. */
export function isCommanderExitOk(err: CommanderError): boolean {
  return err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version'
}

/** Builds the commander Command of a spec under a root named after the program. */
export function buildCommand(spec: CommandSpec<object>, ctx: CommandContext, io: CliIO): { root: Command; cmd: Command } {
  const root = prepare(new Command(ctx.prog), io)
  const cmd = prepare(new Command(ctx.name), io)
  spec.configure(cmd, ctx)
  root.addCommand(cmd)
  return { root, cmd }
}

/**
 * Parses `args` (the words after the command's name) and runs the command. Help exits 0; a
 * usage error is thrown as UsageError for main to print.
 */
export async function runCommand(spec: CommandSpec<object>, name: string, args: readonly string[], io: CliIO): Promise<number> {
  const ctx: CommandContext = { prog: progName(io), name }
  const { root, cmd } = buildCommand(spec, ctx, io)
  let status = EXIT_OK
  cmd.action(async () => {
    status = await spec.action(cmd.opts(), cmd.args, io, ctx)
  })
  try {
    await root.parseAsync([name, ...normalizeArgs(args)], { from: 'user' })
  } catch (err) {
    if (err instanceof CommanderError) {
      if (isCommanderExitOk(err)) return EXIT_OK
      throw usageFromCommander(err, `${ctx.prog} ${name}`)
    }
    throw err
  }
  return status
}

/** Parses only (no action), for tests and for commands that turn options into a config. Undefined for --help. */
export function parseOptions<O extends object>(spec: Pick<CommandSpec<O>, 'configure'>, name: string, args: readonly string[], io: CliIO): { opts: O; operands: string[] } | undefined {
  const ctx: CommandContext = { prog: progName(io), name }
  const { root, cmd } = buildCommand({ configure: spec.configure, action: async () => EXIT_OK }, ctx, io)
  try {
    root.parse([name, ...normalizeArgs(args)], { from: 'user' })
  } catch (err) {
    if (err instanceof CommanderError) {
      if (isCommanderExitOk(err)) return undefined
      throw usageFromCommander(err, `${ctx.prog} ${name}`)
    }
    throw err
  }
  return { opts: cmd.opts<O>(), operands: cmd.args }
}

// ---- what an option documents beyond commander's own fields ---------------------------------

/**
 * The values an option takes and the older spellings it replaces, for --help's neighbours: the
 * completion scripts and the README's option table read them from here, so none of them keeps a
 * list of its own.
 */
export interface OptionInfo {
  /** The words its value can be (-o's formats, --color's modes, --fail-on's levels). */
  values?: readonly string[]
  /** Older spellings that still work, as a user writes them (`--format FORMAT`, `--no-color`). */
  aliases?: readonly string[]
}

const OPTION_INFO = new WeakMap<Option, OptionInfo>()

/** Attaches values and older spellings to an option; returns it for chaining. */
export function documented(option: Option, info: OptionInfo): Option {
  const old = OPTION_INFO.get(option) ?? {}
  OPTION_INFO.set(option, {
    ...(info.values ?? old.values ? { values: info.values ?? old.values } : {}),
    ...(info.aliases ?? old.aliases ? { aliases: [...(old.aliases ?? []), ...(info.aliases ?? [])] } : {}),
  })
  return option
}

export function optionInfo(option: Option): OptionInfo {
  return OPTION_INFO.get(option) ?? {}
}

/** The option of `cmd` spelt `--long`, for attaching information after commander made it. */
export function optionNamed(cmd: Command, long: string): Option {
  const o = cmd.options.find((x) => x.long === long)
  if (o === undefined) throw new Error(`${cmd.name()} has no option ${long}`)
  return o
}

/** `cmd.option(flags, description)` whose value is one of `values`. */
export function valuesOption(cmd: Command, flags: string, description: string, values: readonly string[], defaultValue?: string): void {
  const o = new Option(flags, description)
  if (defaultValue !== undefined) o.default(defaultValue)
  cmd.addOption(documented(o, { values }))
}

// ---- shared options -------------------------------------------------------------------------

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

/** `-o, --output FORMAT`, and the older `--format` as a hidden alias. */
export function outputOption(cmd: Command, formats: readonly string[], fallback: string): void {
  cmd.addOption(documented(new Option('-o, --output <format>', `output format: ${formats.join(', ')} (default: ${fallback})`), { values: formats, aliases: ['--format FORMAT'] }))
  cmd.addOption(new Option('--format <format>', 'older spelling of --output').hideHelp())
}

/** `--output-file FILE`: the report (or manifests) into a file instead of standard output; `-` is standard output. */
export function outputFileOption(cmd: Command, what: string, aliases: readonly string[] = []): void {
  cmd.addOption(documented(new Option('--output-file <file>', `write ${what} to this file instead of standard output (- is standard output)`), { aliases }))
}

/** What a failed write says: the code and the system's words ("ENOSPC: no space left on device"). */
export function writeErrorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException
  if (typeof e?.code === 'string' && typeof e.message === 'string' && e.message.startsWith(`${e.code}: `)) return e.message.split(',')[0] ?? e.code
  return typeof e?.code === 'string' ? e.code : String(err)
}

/**
 * Writes `text` to `--output-file FILE` (resolved against the working directory). A failure is
 * one line naming the file (a UsageError: status 2), never a stack trace.
 */
export async function writeOutputFile(file: string, text: string, io: Pick<CliIO, 'cwd'>): Promise<void> {
  try {
    await writeFile(resolve(io.cwd, file), text)
  } catch (err) {
    throw new UsageError(`cannot write ${file}: ${writeErrorText(err)}`)
  }
}

/**
 * Runs `body` with its standard output going to `--output-file FILE` when one is given (not
 * `-`): what it prints is collected and written once it is done, and `PROG NAME: wrote FILE`
 * is said on stderr. Nothing is written when the body fails.
 */
export async function withOutputFile(outputFile: string | undefined, io: CliIO, ctx: CommandContext, body: (io: CliIO) => Promise<number>): Promise<number> {
  if (outputFile === undefined || outputFile === '-') return body(io)
  if (outputFile === '') throw new UsageError('--output-file needs a file name (or - for standard output)')
  const chunks: string[] = []
  const collected: CliIO = { ...io, stdout: { write: (c: string) => { chunks.push(c); return true }, isTTY: false } }
  const status = await body(collected)
  await writeOutputFile(outputFile, chunks.join(''), io)
  io.stderr.write(`${ctx.prog} ${ctx.name}: wrote ${outputFile}\n`)
  return status
}

export interface OutputOpts {
  output?: string
  format?: string
}

/** The format asked for with -o/--output (or --format), checked against the command's list. */
export function outputFormat<F extends string>(opts: OutputOpts, formats: readonly F[], fallback: F): F {
  if (opts.output !== undefined && opts.format !== undefined && opts.output !== opts.format) {
    throw new UsageError(`-o/--output ${quote(opts.output)} and --format ${quote(opts.format)} disagree; give one`)
  }
  const value = opts.output ?? opts.format ?? fallback
  if (!(formats as readonly string[]).includes(value)) {
    throw new UsageError(`-o/--output must be one of ${formats.join(', ')}, not ${quote(value)}`)
  }
  return value as F
}

/** `-f, --filename FILE|DIR|-` (repeatable); `hiddenAliases` keeps older spellings (`--file`). */
export function filenameOption(cmd: Command, description: string, hiddenAliases: readonly string[] = []): void {
  cmd.addOption(documented(new Option('-f, --filename <path>', description).argParser(collect), { aliases: hiddenAliases.map((a) => `--${a} PATH`) }))
  for (const a of hiddenAliases) cmd.addOption(new Option(`--${a} <path>`).argParser(collect).hideHelp())
}

/** Every -f/--filename (and alias) value, in the order given per option. */
export function filenames(opts: object, aliases: readonly string[] = []): string[] {
  const out: string[] = []
  for (const key of ['filename', ...aliases]) {
    const v: unknown = (opts as Record<string, unknown>)[key]
    if (Array.isArray(v)) for (const s of v) if (typeof s === 'string') out.push(s)
  }
  return out
}

/** `-n, --namespace NS`; with `repeatable`, every -n is kept (a list). */
export function namespaceOption(cmd: Command, description: string, opts: { repeatable?: boolean } = {}): void {
  const option = new Option('-n, --namespace <namespace>', description)
  cmd.addOption(opts.repeatable === true ? option.argParser(collect) : option)
}

export function allNamespacesOption(cmd: Command, description: string): void {
  cmd.addOption(new Option('-A, --all-namespaces', description))
}

/** `--kubeconfig FILE` and `--context NAME`, as kubectl reads them. */
export function kubeOptions(cmd: Command, kubeconfigHelp = 'kubeconfig file (default: KUBECONFIG, then ~/.kube/config, then the service account in a pod)'): void {
  cmd.addOption(new Option('--kubeconfig <file>', kubeconfigHelp))
  cmd.addOption(new Option('--context <name>', 'kubeconfig context to use (default: the current context)'))
}

export const COLOR_MODES = ['auto', 'always', 'never'] as const
export type ColorMode = (typeof COLOR_MODES)[number]

/** `--color[=auto|always|never]` and the older `--no-color`. */
export function colorOption(cmd: Command): void {
  cmd.addOption(documented(new Option('--color [when]', 'colour: auto (default: on for a terminal unless NO_COLOR is set), always or never'), { values: COLOR_MODES, aliases: ['--no-color (= never)', '--color alone (= always)'] }))
  cmd.addOption(new Option('--no-color', 'same as --color=never').hideHelp())
}

/** Whether to colour output: --color wins, then NO_COLOR (any non-empty value), then "is stdout a terminal". */
export function useColor(opts: { color?: string | boolean }, io: CliIO): boolean {
  const c = opts.color
  if (c === false || c === 'never') return false
  if (c === true || c === 'always') return true
  if (c !== undefined && c !== 'auto') throw new UsageError(`--color must be auto, always or never, not ${quote(String(c))}`)
  const noColor = io.env['NO_COLOR']
  return io.stdout.isTTY === true && (noColor === undefined || noColor === '')
}
