import { parseArgs } from 'node:util'
import { readInputs, DEFAULT_MAX_FILE_BYTES } from '../../input/documents.js'
import { RULES } from '../../rules/index.js'
import { loadDefaultPolicy, loadPolicyFile, PolicyError, type Policy } from '../../policy/policy.js'
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, UsageError, type CliIO } from '../io.js'
import { runCheck } from '../run-check.js'
import { formatText } from '../format/text.js'
import { formatJson } from '../format/json.js'
import { formatSarif } from '../format/sarif.js'
import { formatJunit } from '../format/junit.js'
import { relatedFromObjects } from '../../engine/related.js'
import { loadClusterStateFiles } from '../../cluster/files.js'
import type { ClusterView } from '../../cluster/view.js'

export const HELP = `Usage: pod-preflight check [options] PATH...

Checks Kubernetes manifests against the rules. PATH is a file, a directory (read
recursively: *.yaml, *.yml, *.json) or - for standard input.

Options:
  -p, --policy FILE         policy file (default: the built-in default policy)
  -o, --format FORMAT       text (default), json, sarif or junit
  -n, --namespace NS        namespace of objects that name none (default: default)
      --cluster-state FILE  cluster objects as 'kubectl get ... -A -o yaml|json' prints them, or
                            a 'pod-preflight snapshot' file; enables the cluster rules (repeatable)
      --complete            the run holds everything its manifests reference: a ConfigMap,
                            Secret, PVC or ServiceAccount absent from it does not exist
      --fail-on LEVEL       exit 1 on findings at this level or above: deny (default), warn, info
      --show-info           text format: show info findings too
      --max-file-size MIB   refuse files larger than this (default: ${DEFAULT_MAX_FILE_BYTES / 1024 / 1024})
      --color / --no-color  force colour on or off (default: on for a terminal, unless NO_COLOR)
  -h, --help                show this help

Exit status: 0 nothing denied, 1 something denied (or at --fail-on level), 2 usage error
or unreadable/invalid input (the other files are still checked and reported).
`

const FORMATS = ['text', 'json', 'sarif', 'junit'] as const
type Format = (typeof FORMATS)[number]

export async function run(args: string[], io: CliIO): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        policy: { type: 'string', short: 'p' },
        format: { type: 'string', short: 'o', default: 'text' },
        namespace: { type: 'string', short: 'n', default: 'default' },
        'fail-on': { type: 'string', default: 'deny' },
        'cluster-state': { type: 'string', multiple: true },
        complete: { type: 'boolean', default: false },
        'show-info': { type: 'boolean', default: false },
        'max-file-size': { type: 'string' },
        color: { type: 'boolean' },
        'no-color': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (err) {
    throw new UsageError(`${err instanceof Error ? err.message : String(err)}\n\n${HELP}`)
  }
  const { values, positionals } = parsed
  if (values.help === true) {
    io.stdout.write(HELP)
    return EXIT_OK
  }
  const format = values.format as Format
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, not '${values.format}'`)
  const failOn = values['fail-on']
  if (failOn !== 'deny' && failOn !== 'warn' && failOn !== 'info') throw new UsageError(`--fail-on must be deny, warn or info, not '${failOn}'`)
  if (positionals.length === 0) throw new UsageError(`no manifests given: name files, directories, or - for standard input\n\n${HELP}`)
  let maxFileBytes = DEFAULT_MAX_FILE_BYTES
  if (values['max-file-size'] !== undefined) {
    const mib = Number(values['max-file-size'])
    if (!Number.isFinite(mib) || mib <= 0) throw new UsageError(`--max-file-size takes a number of MiB, not '${values['max-file-size']}'`)
    maxFileBytes = Math.floor(mib * 1024 * 1024)
  }

  let policy: Policy
  try {
    policy = values.policy !== undefined ? await loadPolicyFile(values.policy, RULES) : await loadDefaultPolicy(RULES)
  } catch (err) {
    if (err instanceof PolicyError) {
      io.stderr.write(`pod-preflight check: the policy cannot be used:\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`)
      return EXIT_USAGE
    }
    throw err
  }

  let cluster: ClusterView | undefined
  const stateErrors = []
  const statePaths = values['cluster-state'] ?? []
  if (statePaths.length > 0) {
    const loaded = await loadClusterStateFiles(statePaths, { cwd: io.cwd, stdin: io.stdin })
    cluster = loaded.view
    stateErrors.push(...loaded.errors)
  }
  const { documents, errors } = await readInputs(positionals, io, { maxFileBytes })
  const report = runCheck(documents, [...stateErrors, ...errors], {
    policy,
    rules: RULES,
    namespace: values.namespace,
    // Objects of the same run count as existing; Services are matched against its workloads.
    related: relatedFromObjects(documents, { complete: values.complete, namespace: values.namespace }),
    ...(cluster !== undefined ? { cluster } : {}),
    files: new Set([...documents.map((d) => d.source.file), ...errors.map((e) => e.file)]).size,
  })

  const color = values['no-color'] === true ? false : values.color === true ? true : io.stdout.isTTY === true && !io.env['NO_COLOR']
  switch (format) {
    case 'json':
      io.stdout.write(formatJson(report))
      break
    case 'sarif':
      io.stdout.write(formatSarif(report, RULES))
      break
    case 'junit':
      io.stdout.write(formatJunit(report))
      break
    default:
      io.stdout.write(formatText(report, { color, showInfo: values['show-info'] }))
  }
  if (format !== 'text' && report.errors.length > 0) {
    for (const e of report.errors) io.stderr.write(`${e.file}${e.line !== undefined ? `:${e.line}` : ''}: ${e.message}\n`)
  }
  if (report.errors.length > 0) return EXIT_USAGE
  const s = report.summary
  const failing = s.deny + (failOn === 'warn' || failOn === 'info' ? s.warn : 0) + (failOn === 'info' ? s.info : 0)
  return failing > 0 ? EXIT_FINDINGS : EXIT_OK
}
