/**
 * `pod-preflight snapshot`: saves the cluster state the cluster-aware rules read, from the
 * current kubeconfig context, as a file `check --cluster-state` reads (Kubernetes objects as
 * `kubectl get -o yaml` prints them, trimmed to what the rules use).
 */
import { stringify } from 'yaml'
import { EXIT_OK, EXIT_USAGE, UsageError, type CliIO } from '../io.js'
import { kubeOptions, outputFileOption, outputFormat, outputOption, writeOutputFile, type CommandContext, type CommandSpec, type OutputOpts } from '../command.js'
import { CAPTURE_API_VERSION, CAPTURE_KIND } from '../../cluster/files.js'
import { STATE_KINDS, type StateKind } from '../../cluster/view.js'
import type { ListableKind } from '../../cluster/live.js'
import { quote } from '../../text/sanitize.js'

const ORDER: readonly ListableKind[] = ['Namespace', ...STATE_KINDS]

const FORMATS = ['yaml', 'json'] as const

interface SnapshotOpts extends OutputOpts {
  kubeconfig?: string
  context?: string
  outputFile?: string
  secrets: boolean
  pods: boolean
}

export const command: CommandSpec<SnapshotOpts> = {
  configure(cmd, { prog }) {
    cmd.description(
      'Saves the cluster state that cluster-aware rules read (Nodes, Namespaces, ResourceQuotas, ' +
        'LimitRanges, ServiceAccounts, PersistentVolumeClaims, ConfigMaps, Secrets, Services, Pods) ' +
        `from the current kubeconfig context, for '${prog} check --cluster-state FILE'.\n\n` +
        "The file holds Kubernetes objects as 'kubectl get -o yaml' prints them, trimmed to what the " +
        'rules read: ConfigMaps keep their keys with empty values, Secrets only their names (they are ' +
        'listed as metadata; their data is never read), Nodes lose their image lists, Pods keep labels, ' +
        'node, ports and resources. A first document records which kinds were captured, so that an ' +
        'empty kind (no PVC anywhere) still counts as known.',
    )
    kubeOptions(cmd)
    outputOption(cmd, FORMATS, 'yaml')
    outputFileOption(cmd, 'the snapshot', ['-o FILE'])
    cmd
      .option('--no-secrets', 'leave Secrets out (needs no permission on Secrets at all)')
      .option('--no-pods', 'leave Pods out (free-capacity and live Service checks then stay silent)')
      .addHelpText(
        'after',
        '\nNeeds list on every kind it saves (see README, "RBAC of the cluster view"). A kind the\n' +
          'credentials may not list is left out with a warning, and its rules stay silent.\n' +
          '-o FILE (a value other than yaml or json) is the older spelling of --output-file FILE.',
      )
  },
  action: (opts, _operands, io, ctx) => snapshot(opts, io, ctx),
}

async function snapshot(values: SnapshotOpts, io: CliIO, { prog }: CommandContext): Promise<number> {
  // Older releases read -o as the output file; a value that is not a format still means that.
  let outputFile = values.outputFile
  const opts = { ...values }
  if (opts.output !== undefined && !(FORMATS as readonly string[]).includes(opts.output)) {
    if (outputFile !== undefined) throw new UsageError(`-o/--output must be one of ${FORMATS.join(', ')}, not ${quote(opts.output)}`)
    outputFile = opts.output
    delete opts.output
  }
  const format = outputFormat(opts, FORMATS, 'yaml')
  const { loadKubeConfig } = await import('../../analyzer/cluster-source.js')
  const { listObjects, httpStatusOf } = await import('../../cluster/live.js')
  const { trimObject } = await import('../../cluster/trim.js')
  let kc
  try {
    // The same reading as every other command: --kubeconfig, KUBECONFIG (a list), ~/.kube/config, in-cluster.
    kc = loadKubeConfig({ ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}), ...(values.context !== undefined ? { context: values.context } : {}), env: io.env })
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err))
  }
  const cluster = kc.getCurrentCluster()
  if (cluster === null) throw new UsageError('the kubeconfig has no current cluster (give --kubeconfig or --context)')

  const kinds = ORDER.filter((k) => !(k === 'Secret' && !values.secrets) && !(k === 'Pod' && !values.pods))
  const items: unknown[] = []
  const captured: StateKind[] = []
  const counts: string[] = []
  for (const kind of kinds) {
    let raw: unknown[]
    try {
      raw = await listObjects(kc, kind)
    } catch (err) {
      const status = httpStatusOf(err)
      if (status === 403 || status === 404) {
        io.stderr.write(`${prog} snapshot: warning: cannot list ${kind}s (HTTP ${status}): left out, their rules will stay silent\n`)
        continue
      }
      io.stderr.write(`${prog} snapshot: cannot read ${kind}s from ${cluster.server}: ${err instanceof Error ? err.message : String(err)}\n`)
      return EXIT_USAGE
    }
    for (const r of raw) {
      const t = trimObject(kind, r)
      if (t !== undefined) items.push(t)
    }
    if (kind !== 'Namespace') captured.push(kind)
    counts.push(`${raw.length} ${kind}${raw.length === 1 ? '' : 's'}`)
  }
  const marker = {
    apiVersion: CAPTURE_API_VERSION,
    kind: CAPTURE_KIND,
    metadata: { name: 'snapshot' },
    capturedAt: new Date().toISOString(),
    context: kc.getCurrentContext(),
    server: cluster.server,
    capturedKinds: captured,
  }
  const list = { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items }
  const text =
    format === 'json'
      ? `${JSON.stringify({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: [marker, ...items] }, null, 2)}\n`
      : `# pod-preflight snapshot of ${kc.getCurrentContext()} (${cluster.server}); read it with: ${prog} check --cluster-state FILE\n${stringify(marker)}---\n${stringify(list)}`
  if (outputFile !== undefined && outputFile !== '-') {
    await writeOutputFile(outputFile, text, io)
    io.stderr.write(`${prog} snapshot: wrote ${outputFile}: ${counts.join(', ')}\n`)
  } else {
    io.stdout.write(text)
    io.stderr.write(`${prog} snapshot: ${counts.join(', ')}\n`)
  }
  return EXIT_OK
}
