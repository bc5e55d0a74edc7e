/**
 * The command line: one commander program, one module per command.
 *
 * Adding a command:
 *   1. Write src/cli/commands/NAME.ts exporting `command: CommandSpec` (see ./command.ts):
 *        export const command: CommandSpec<MyOpts> = {
 *          configure(cmd, { prog }) {
 *            cmd.description('...').argument('[paths...]')
 *            outputOption(cmd, ['text', 'json', 'yaml'], 'text')  // shared options: -o, -f, -n, -A,
 *            kubeOptions(cmd)                                    // --kubeconfig, --context, --color
 *            cmd.option('--my-flag <value>', 'what it does')     // plain commander for the rest
 *          },
 *          async action(opts, operands, io, { prog }) { ...; return EXIT_OK },
 *        }
 *      Throw UsageError for bad input (printed as "PROG NAME: message", exit 2); write results
 *      to io.stdout and diagnostics to io.stderr; say `prog`, never a hard-coded program name.
 *   2. Add one line to COMMANDS below (name, one-line summary, lazy import).
 * Help, completion scripts, unknown-option errors and "did you mean" come from the spec.
 */
import { Command, CommanderError } from 'commander'
import { EXIT_USAGE, UsageError, type CliIO } from './io.js'
import { buildCommand, isCommanderExitOk, prepare, progName, runCommand, usageFromCommander, type CommandSpec } from './command.js'
import { escapeControlsKeepNewlines, quote, shorten } from '../text/sanitize.js'

/**
 * A message for standard error, whatever it carries from the command line (commander quotes an
 * unknown option as given): every control escaped but the line feeds we wrote, and bounded.
 */
export function errorText(message: string): string {
  return escapeControlsKeepNewlines(shorten(message, 4000))
}

export interface CommandEntry {
  name: string
  summary: string
  /** A module exporting `command` (or the spec itself, for two commands in one module). */
  load: () => Promise<{ command: CommandSpec<never> }>
}

export const COMMANDS: readonly CommandEntry[] = [
  { name: 'check', summary: 'check manifest files against the rules', load: () => import('./commands/check.js') },
  { name: 'rules', summary: 'list the rules, or show one with its examples', load: () => import('./commands/rules.js') },
  { name: 'explain', summary: 'explain why a pod failed, from files or the live cluster', load: () => import('./commands/explain.js') },
  { name: 'serve', summary: 'run the admission webhook over HTTPS', load: () => import('./commands/serve.js') },
  { name: 'audit', summary: 'judge every workload in the cluster, joined with why its pods fail now', load: () => import('./commands/audit.js') },
  { name: 'install', summary: 'print every object of an installation, for kubectl apply -f -', load: () => import('./commands/install.js') },
  { name: 'uninstall', summary: 'print what an install made, webhook configuration first, for kubectl delete -f -', load: async () => ({ command: (await import('./commands/install.js')).uninstallCommand }) },
  { name: 'doctor', summary: 'check a live installation: webhook, certificate, endpoints, RBAC, policy, a dry-run probe', load: () => import('./commands/doctor.js') },
  { name: 'snapshot', summary: 'save the cluster state the cluster-aware rules read', load: () => import('./commands/snapshot.js') },
  { name: 'completion', summary: 'print a shell completion script: bash, zsh or fish', load: () => import('./commands/completion.js') },
  { name: 'version', summary: 'print the version and build information', load: () => import('./commands/version.js') },
]

/** The root program with every command listed (summaries only), for help and "did you mean". */
function rootProgram(io: CliIO): Command {
  const prog = progName(io)
  const root = prepare(new Command(prog), io)
    .usage('<command> [options]')
    .description('Stops the pod failures everyone has seen before they happen, and explains the ones that still happen.')
    .option('-v, --version', 'print the version')
    .addHelpText('after', `\nRun '${prog} <command> --help' for the options of a command.`)
  for (const c of COMMANDS) root.command(c.name).description(c.summary)
  return root
}

export function usage(io: CliIO): string {
  return rootProgram(io).helpInformation()
}

/** Every command, fully configured: for completion scripts and the README's option table. */
export async function loadAllCommands(io: CliIO): Promise<Command[]> {
  const out: Command[] = []
  for (const c of COMMANDS) {
    const { command } = await c.load()
    out.push(buildCommand(command as CommandSpec<object>, { prog: progName(io), name: c.name }, io).cmd.description(c.summary))
  }
  return out
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  const prog = progName(io)
  let [name, ...rest] = argv
  if (name === 'help' && rest[0] !== undefined && COMMANDS.some((c) => c.name === rest[0])) {
    name = rest[0]
    rest = ['--help']
  }
  if (name === '--version' || name === '-v') name = 'version'
  const entry = COMMANDS.find((c) => c.name === name)
  if (entry === undefined) {
    if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
      io.stdout.write(usage(io))
      return name === undefined ? EXIT_USAGE : 0
    }
    // Let commander say what is wrong ("unknown command 'chek' (Did you mean check?)").
    try {
      rootProgram(io).parse(argv, { from: 'user' })
    } catch (err) {
      if (err instanceof CommanderError && !isCommanderExitOk(err)) {
        io.stderr.write(`${prog}: ${errorText(usageFromCommander(err, prog).message)}\n`)
        return EXIT_USAGE
      }
      if (err instanceof CommanderError) return 0
    }
    io.stderr.write(`${prog}: unknown command ${quote(name)}\n`)
    return EXIT_USAGE
  }
  try {
    const { command } = await entry.load()
    return await runCommand(command as CommandSpec<object>, entry.name, rest, io)
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`${prog} ${entry.name}: ${errorText(err.message)}\n`)
      return EXIT_USAGE
    }
    // An unexpected failure is still reported in one line; the stack only on request.
    const message = err instanceof Error ? err.message : String(err)
    io.stderr.write(`${prog} ${entry.name}: internal error: ${errorText(message)}\n`)
    if (io.env['POD_PREFLIGHT_DEBUG'] && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`)
    return EXIT_USAGE
  }
}
