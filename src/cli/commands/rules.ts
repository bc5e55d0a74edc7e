import { parseArgs } from 'node:util'
import { RULES, ruleById } from '../../rules/index.js'
import { EXIT_OK, UsageError, type CliIO } from '../io.js'

const HELP = `Usage: pod-preflight rules [--format text|json] [RULE-ID]

Lists every rule with its id, default action, scope and a one-line description.
With a RULE-ID, shows that rule in full: what it detects, what happens at run time,
the fix, and its parameters.
`

export async function run(args: string[], io: CliIO): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args, allowPositionals: true, strict: true, options: { format: { type: 'string', short: 'o', default: 'text' }, help: { type: 'boolean', short: 'h' } } })
  } catch (err) {
    throw new UsageError(`${err instanceof Error ? err.message : String(err)}\n\n${HELP}`)
  }
  const { values, positionals } = parsed
  if (values.help === true) {
    io.stdout.write(HELP)
    return EXIT_OK
  }
  if (values.format !== 'text' && values.format !== 'json') throw new UsageError(`--format must be text or json, not '${values.format}'`)
  let selected = RULES
  if (positionals.length > 0) {
    selected = positionals.map((id) => {
      const r = ruleById(id)
      if (r === undefined) throw new UsageError(`unknown rule '${id}'; 'pod-preflight rules' lists them`)
      return r
    })
  }
  if (values.format === 'json') {
    const rules = selected.map((r) => ({
      id: r.id,
      title: r.title,
      defaultAction: r.defaultAction,
      scope: r.scope,
      description: r.docs.summary,
      docs: r.docs,
      params: r.params,
    }))
    io.stdout.write(`${JSON.stringify({ rules }, null, 2)}\n`)
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
      io.stdout.write('\n')
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
