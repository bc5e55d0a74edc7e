/**
 * The one way commands read their arguments: commander, with the conventions every command
 * shares (kubectl's where it has one). A command module exports a `CommandSpec`; `runCommand`
 * parses its arguments and calls its action. The helpers below add the shared options so that
 * `-o`, `-f`, `-n`, `--kubeconfig`, `--color` read and behave the same in every command.
 */
import { Command, CommanderError, Option } from 'commander'
import { EXIT_OK, UsageError, type CliIO } from './io.js'

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

// ---- shared options -------------------------------------------------------------------------

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

/** `-o, --output FORMAT`, and the older `--format` as a hidden alias. */
export function outputOption(cmd: Command, formats: readonly string[], fallback: string): void {
  cmd.addOption(new Option('-o, --output <format>', `output format: ${formats.join(', ')} (default: ${fallback})`))
  cmd.addOption(new Option('--format <format>', 'older spelling of --output').hideHelp())
}

export interface OutputOpts {
  output?: string
  format?: string
}

/** The format asked for with -o/--output (or --format), checked against the command's list. */
export function outputFormat<F extends string>(opts: OutputOpts, formats: readonly F[], fallback: F): F {
  if (opts.output !== undefined && opts.format !== undefined && opts.output !== opts.format) {
    throw new UsageError(`-o/--output '${opts.output}' and --format '${opts.format}' disagree; give one`)
  }
  const value = opts.output ?? opts.format ?? fallback
  if (!(formats as readonly string[]).includes(value)) {
    throw new UsageError(`-o/--output must be one of ${formats.join(', ')}, not '${value}'`)
  }
  return value as F
}

/** `-f, --filename FILE|DIR|-` (repeatable); `hiddenAliases` keeps older spellings (`--file`). */
export function filenameOption(cmd: Command, description: string, hiddenAliases: readonly string[] = []): void {
  cmd.addOption(new Option('-f, --filename <path>', description).argParser(collect))
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
export function kubeOptions(cmd: Command): void {
  cmd.addOption(new Option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG, then ~/.kube/config)'))
  cmd.addOption(new Option('--context <name>', 'kubeconfig context to use (default: the current context)'))
}

export const COLOR_MODES = ['auto', 'always', 'never'] as const
export type ColorMode = (typeof COLOR_MODES)[number]

/** `--color[=auto|always|never]` and the older `--no-color`. */
export function colorOption(cmd: Command): void {
  cmd.addOption(new Option('--color [when]', 'colour: auto (default: on for a terminal unless NO_COLOR is set), always or never'))
  cmd.addOption(new Option('--no-color', 'same as --color=never').hideHelp())
}

/** Whether to colour output: --color wins, then NO_COLOR (any non-empty value), then "is stdout a terminal". */
export function useColor(opts: { color?: string | boolean }, io: CliIO): boolean {
  const c = opts.color
  if (c === false || c === 'never') return false
  if (c === true || c === 'always') return true
  if (c !== undefined && c !== 'auto') throw new UsageError(`--color must be auto, always or never, not '${String(c)}'`)
  const noColor = io.env['NO_COLOR']
  return io.stdout.isTTY === true && (noColor === undefined || noColor === '')
}
