/**
 * `pod-preflight audit`: flags in, auditCommand() out (src/audit/command.ts has the logic).
 */
import { RULES } from '../../rules/index.js'
import { UsageError, type CliIO } from '../io.js'
import { allNamespacesOption, colorOption, kubeOptions, namespaceOption, outputFileOption, outputFormat, outputOption, runCommand, useColor, valuesOption, type CommandSpec, type OutputOpts } from '../command.js'
import { auditCommand, AUDIT_FORMATS, type AuditCommandOptions } from '../../audit/command.js'
import { quote } from '../../text/sanitize.js'

interface AuditOpts extends OutputOpts {
  allNamespaces?: boolean
  namespace?: string[]
  outputFile?: string
  policy?: string
  clusterState?: string[]
  kubeconfig?: string
  context?: string
  failOn: string
  showInfo?: boolean
  color?: string | boolean
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

export const command: CommandSpec<AuditOpts> = {
  configure(cmd, { prog }) {
    cmd.description(
      'Judges every workload that exists (Deployments, StatefulSets, DaemonSets, CronJobs, Jobs, ' +
        'ReplicaSets, ReplicationControllers and bare Pods; pods owned by a workload are represented by ' +
        'it) with every rule, the cluster-aware ones against the same cluster, and puts the diagnosis ' +
        'of pods failing right now next to the rule that predicted it.\n\n' +
        'Reads the live cluster (the current kubeconfig context) or, with --cluster-state, files as ' +
        "'kubectl get deployments,statefulsets,...,pods,nodes,... -A -o yaml' prints them.",
    )
    allNamespacesOption(cmd, 'every namespace (the default)')
    namespaceOption(cmd, 'only this namespace (repeatable)', { repeatable: true })
    outputOption(cmd, AUDIT_FORMATS, 'text')
    outputFileOption(cmd, 'the report')
    cmd
      .option('-p, --policy <file>', 'policy file, or builtin:strict (default: the built-in default policy)')
      .option('--cluster-state <file>', 'read the cluster from files instead of the API (repeatable; - for standard input)', collect)
    kubeOptions(cmd)
    valuesOption(cmd, '--fail-on <level>', 'exit 1 when a finding at this level or above exists: deny, warn, info, or never', ['deny', 'warn', 'info', 'never'], 'deny')
    cmd.option('--show-info', 'text output: list info findings too')
    colorOption(cmd)
    cmd.addHelpText(
      'after',
      '\nNeeds list on the workload kinds, pods, events and the state the cluster rules read\n' +
        `(see README, "${prog} audit"). A kind it may not list is left out with a note.\n\n` +
        'Exit status: 0 nothing at the --fail-on level, 1 something is, 2 usage error, the cluster\n' +
        'could not be read, or a --cluster-state file could not be read (the rest is still reported).',
    )
  },
  action: (opts, _operands, io) => audit(opts, io),
}

/** `audit ARGS` as main runs it, for tests. */
export const run = (args: string[], io: CliIO): Promise<number> => runCommand(command as CommandSpec<object>, 'audit', args, io)

async function audit(v: AuditOpts, io: CliIO): Promise<number> {
  const format = outputFormat(v, AUDIT_FORMATS, 'text')
  const failOn = v.failOn
  if (failOn !== 'deny' && failOn !== 'warn' && failOn !== 'info' && failOn !== 'never') throw new UsageError(`--fail-on must be deny, warn, info or never, not ${quote(failOn)}`)
  if (v.allNamespaces === true && v.namespace !== undefined) throw new UsageError('-A/--all-namespaces and -n/--namespace exclude each other')
  const color = useColor(v, io)
  if (v.clusterState !== undefined && (v.kubeconfig !== undefined || v.context !== undefined)) {
    throw new UsageError('--cluster-state reads files; --kubeconfig and --context are for the live cluster: give one or the other')
  }
  for (const ns of v.namespace ?? []) {
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(ns)) throw new UsageError(`-n: ${quote(ns)} is not a namespace name (lower-case letters, digits and '-', at most 63)`)
  }
  const options: AuditCommandOptions = {
    rules: RULES,
    format,
    failOn,
    color,
    showInfo: v.showInfo === true,
    progress: io.stderr.isTTY === true,
  }
  if (v.namespace !== undefined) options.namespaces = [...new Set(v.namespace)]
  if (v.outputFile !== undefined) options.outputFile = v.outputFile
  if (v.policy !== undefined) options.policyFile = v.policy
  if (v.clusterState !== undefined) options.clusterState = v.clusterState
  if (v.kubeconfig !== undefined) options.kubeconfig = v.kubeconfig
  if (v.context !== undefined) options.context = v.context
  return auditCommand(options, io)
}
