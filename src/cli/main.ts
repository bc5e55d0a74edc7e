import { processIO, UsageError, EXIT_USAGE, type Command, type CliIO } from './io.js'

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  check: { summary: 'check manifest files against the rules', load: async () => (await import('./commands/check.js')).run },
  rules: { summary: 'list every rule with its default action and scope', load: async () => (await import('./commands/rules.js')).run },
  explain: { summary: 'explain why a pod failed, from files or the live cluster', load: async () => (await import('./commands/explain.js')).run },
  serve: { summary: 'run the admission webhook over HTTPS', load: async () => (await import('./commands/serve.js')).run },
  audit: { summary: 'judge every workload in the cluster, joined with why its pods fail now', load: async () => (await import('./commands/audit.js')).run },
  install: { summary: 'print every object of an installation, for kubectl apply -f -', load: async () => (await import('./commands/install.js')).run },
  uninstall: { summary: 'print what an install made, webhook configuration first, for kubectl delete -f -', load: async () => (await import('./commands/install.js')).runUninstall },
  snapshot: { summary: 'save the cluster state the cluster-aware rules read', load: async () => (await import('./commands/snapshot.js')).run },
}

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length))
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
  return `Usage: pod-preflight <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun 'pod-preflight <command> --help' for the options of a command.\n`
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage())
    return name === undefined ? EXIT_USAGE : 0
  }
  if (name === '--version' || name === 'version') {
    const { version } = await import('../version.js')
    io.stdout.write(`pod-preflight ${version}\n`)
    return 0
  }
  const command = COMMANDS[name]
  if (command === undefined) {
    io.stderr.write(`pod-preflight: unknown command '${name}'\n\n${usage()}`)
    return EXIT_USAGE
  }
  try {
    return await (await command.load())(rest, io)
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`pod-preflight ${name}: ${err.message}\n`)
      return EXIT_USAGE
    }
    // An unexpected failure is still reported in one line; the stack only on request.
    const message = err instanceof Error ? err.message : String(err)
    io.stderr.write(`pod-preflight ${name}: internal error: ${message}\n`)
    if (io.env['POD_PREFLIGHT_DEBUG'] && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`)
    return EXIT_USAGE
  }
}

