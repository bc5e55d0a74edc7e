/**
 * `pod-preflight audit`: flags in, auditCommand() out (src/audit/command.ts has the logic).
 */
import { parseArgs } from 'node:util'
import { RULES } from '../../rules/index.js'
import { EXIT_OK, UsageError, type CliIO } from '../io.js'
import { auditCommand, AUDIT_FORMATS, type AuditCommandOptions, type AuditFormat } from '../../audit/command.js'

export const HELP = `Usage: pod-preflight audit [options]

Judges every workload that exists (Deployments, StatefulSets, DaemonSets, CronJobs, Jobs,
ReplicaSets, ReplicationControllers and bare Pods; pods owned by a workload are represented by
it) with every rule, the cluster-aware ones against the same cluster, and puts the diagnosis
of pods failing right now next to the rule that predicted it.

Reads the live cluster (the current kubeconfig context) or, with --cluster-state, files as
'kubectl get deployments,statefulsets,...,pods,nodes,... -A -o yaml' prints them.

Options:
  -A, --all-namespaces      every namespace (the default)
  -n, --namespace NS        only this namespace (repeatable)
  -o, --output FORMAT       text (default), json, sarif or html (--format is the same)
      --output-file FILE    write the report to FILE instead of standard output
  -p, --policy FILE         policy file (default: the built-in default policy)
      --cluster-state FILE  read the cluster from files instead of the API (repeatable; - for stdin)
      --kubeconfig FILE     kubeconfig (default: KUBECONFIG, ~/.kube/config, in-cluster)
      --context NAME        kubeconfig context (default: the current one)
      --fail-on LEVEL       exit 1 when a finding at this level or above exists: deny (default),
                            warn, info, or never
      --show-info           text format: list info findings too
      --color=WHEN          auto (default), always or never (--no-color = never)
  -h, --help                show this help

Needs list on the workload kinds, pods, events and the state the cluster rules read
(see README, "pod-preflight audit"). A kind it may not list is left out with a note.

Exit status: 0 nothing at the --fail-on level, 1 something is, 2 usage error or the cluster
could not be read.
`

export async function run(args: string[], io: CliIO): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args,
      allowPositionals: false,
      strict: true,
      options: {
        'all-namespaces': { type: 'boolean', short: 'A' },
        namespace: { type: 'string', short: 'n', multiple: true },
        output: { type: 'string', short: 'o' },
        format: { type: 'string' },
        'output-file': { type: 'string' },
        policy: { type: 'string', short: 'p' },
        'cluster-state': { type: 'string', multiple: true },
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
        'fail-on': { type: 'string', default: 'deny' },
        'show-info': { type: 'boolean', default: false },
        color: { type: 'string' },
        'no-color': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (err) {
    throw new UsageError(`${err instanceof Error ? err.message : String(err)}\n\n${HELP}`)
  }
  const v = parsed.values
  if (v.help === true) {
    io.stdout.write(HELP)
    return EXIT_OK
  }
  if (v.output !== undefined && v.format !== undefined && v.output !== v.format) throw new UsageError(`-o/--output '${v.output}' and --format '${v.format}' disagree; give one`)
  const format = v.output ?? v.format ?? 'text'
  if (!(AUDIT_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--output must be one of ${AUDIT_FORMATS.join(', ')}, not '${format}'`)
  const failOn = v['fail-on']
  if (failOn !== 'deny' && failOn !== 'warn' && failOn !== 'info' && failOn !== 'never') throw new UsageError(`--fail-on must be deny, warn, info or never, not '${failOn}'`)
  if (v['all-namespaces'] === true && v.namespace !== undefined) throw new UsageError('-A/--all-namespaces and -n/--namespace exclude each other')
  const color = v.color ?? 'auto'
  if (color !== 'auto' && color !== 'always' && color !== 'never') throw new UsageError(`--color must be auto, always or never, not '${color}'`)
  if (v['cluster-state'] !== undefined && (v.kubeconfig !== undefined || v.context !== undefined)) {
    throw new UsageError('--cluster-state reads files; --kubeconfig and --context are for the live cluster: give one or the other')
  }
  for (const ns of v.namespace ?? []) {
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(ns)) throw new UsageError(`-n: '${ns}' is not a namespace name (lower-case letters, digits and '-', at most 63)`)
  }
  const options: AuditCommandOptions = {
    rules: RULES,
    format: format as AuditFormat,
    failOn,
    color: v['no-color'] === true || color === 'never' ? false : color === 'always' ? true : io.stdout.isTTY === true && !io.env['NO_COLOR'],
    showInfo: v['show-info'],
    progress: io.stderr.isTTY === true,
  }
  if (v.namespace !== undefined) options.namespaces = [...new Set(v.namespace)]
  if (v['output-file'] !== undefined) options.outputFile = v['output-file']
  if (v.policy !== undefined) options.policyFile = v.policy
  if (v['cluster-state'] !== undefined) options.clusterState = v['cluster-state']
  if (v.kubeconfig !== undefined) options.kubeconfig = v.kubeconfig
  if (v.context !== undefined) options.context = v.context
  return auditCommand(options, io)
}
