/** `pod-preflight version`: the version and what this build is. */
import { yamlModule } from '../../lazy-modules.js'
import { buildInfo } from '../../build-info.js'
import { EXIT_OK, type CliIO } from '../io.js'
import { outputFormat, outputOption, type CommandContext, type CommandSpec, type OutputOpts } from '../command.js'

const FORMATS = ['text', 'json', 'yaml'] as const

export const command: CommandSpec<OutputOpts> = {
  configure(cmd) {
    cmd.description('Prints the version, the commit it was built from, the Node.js version and the package kind.')
    outputOption(cmd, FORMATS, 'text')
  },
  action: async (opts, _operands, io: CliIO, { prog }: CommandContext) => {
    const format = outputFormat(opts, FORMATS, 'text')
    const info = buildInfo()
    if (format === 'json') io.stdout.write(`${JSON.stringify(info, null, 2)}\n`)
    // The yaml package only for -o yaml: loading it tripled the time of `--version`, which shells and scripts run.
    else if (format === 'yaml') io.stdout.write(yamlModule().stringify(info))
    else {
      io.stdout.write(
        `${prog} ${info.version}\n` +
          `  commit:   ${info.commit ?? 'unknown'}${info.date !== undefined ? ` (built ${info.date})` : ''}\n` +
          `  package:  ${info.kind}\n` +
          `  node:     ${info.node}\n` +
          `  platform: ${info.platform}\n`,
      )
    }
    return EXIT_OK
  },
}
