import { stringify } from 'yaml'
import { RULES, ruleById } from '../../rules/index.js'
import { suggestRuleId } from '../../policy/policy.js'
import { RULE_EXAMPLES } from '../../rules/_examples.generated.js'
import { renderExamplesText } from '../../rules/_reference.js'
import { ruleDocUrl } from '../../rules/_doc-url.js'
import { EXIT_OK, UsageError, type CliIO } from '../io.js'
import { outputFormat, outputOption, type CommandContext, type CommandSpec, type OutputOpts } from '../command.js'
import { quote } from '../../text/sanitize.js'

const FORMATS = ['text', 'json', 'yaml'] as const

export const command: CommandSpec<OutputOpts> = {
  configure(cmd) {
    cmd
      .description(
        'Lists every rule with its id, default action, scope and a one-line description. ' +
          'With a RULE-ID, shows that rule in full: what it detects, what happens at run time, ' +
          'the fix, its parameters, an example that fails and one that passes, and the link to its reference page.',
      )
      .argument('[rule-ids...]', 'rules to show in full')
    outputOption(cmd, FORMATS, 'text')
  },
  action: (opts, operands, io, ctx) => rules(opts, operands, io, ctx),
}

async function rules(values: OutputOpts, positionals: string[], io: CliIO, { prog }: CommandContext): Promise<number> {
  const format = outputFormat(values, FORMATS, 'text')
  let selected = RULES
  if (positionals.length > 0) {
    selected = positionals.map((id) => {
      const r = ruleById(id)
      if (r === undefined) {
        const hint = suggestRuleId(id, RULES.map((x) => x.id))
        throw new UsageError(`unknown rule ${quote(id)}${hint !== undefined ? `; did you mean ${hint}?` : ''} ('${prog} rules' lists them)`)
      }
      return r
    })
  }
  if (format === 'json' || format === 'yaml') {
    const rules = selected.map((r) => ({
      id: r.id,
      title: r.title,
      defaultAction: r.defaultAction,
      scope: r.scope,
      description: r.docs.summary,
      docs: r.docs,
      params: r.params,
      examples: RULE_EXAMPLES[r.id] ?? null,
      doc: ruleDocUrl(r.id),
    }))
    io.stdout.write(format === 'json' ? `${JSON.stringify({ rules }, null, 2)}\n` : stringify({ rules }))
    return EXIT_OK
  }
  if (positionals.length > 0) {
    for (const r of selected) {
      io.stdout.write(`${r.id}  (${r.defaultAction}; scope: ${r.scope.join(', ')})\n  ${r.title}\n\n`)
      io.stdout.write(`  ${r.docs.description}\n\n  At run time: ${r.docs.failure}\n\n  Fix: ${r.docs.fix}\n`)
      const params = Object.entries(r.params.properties)
      if (params.length > 0) {
        io.stdout.write('\n  Parameters:\n')
        for (const [name, p] of params) io.stdout.write(`    ${name} (default ${JSON.stringify(p['default'])}): ${String(p['description'] ?? '')}\n`)
      }
      io.stdout.write(`\n${renderExamplesText(r, RULE_EXAMPLES[r.id])}\n`)
    }
    return EXIT_OK
  }
  const w = Math.max(...selected.map((r) => r.id.length))
  io.stdout.write(`${'RULE'.padEnd(w)}  ${'DEFAULT'.padEnd(7)}  ${'SCOPE'.padEnd(21)}  DESCRIPTION\n`)
  for (const r of selected) {
    io.stdout.write(`${r.id.padEnd(w)}  ${r.defaultAction.padEnd(7)}  ${r.scope.join(',').padEnd(21)}  ${r.docs.summary}\n`)
  }
  return EXIT_OK
}
