/**
 * `pod-preflight snapshot`: saves the cluster state the cluster-aware rules read, from the
 * current kubeconfig context, as a file `check --cluster-state` reads (Kubernetes objects as
 * `kubectl get -o yaml` prints them, trimmed to what the rules use).
 */
import { parseArgs } from 'node:util'
import { writeFile } from 'node:fs/promises'
import { stringify } from 'yaml'
import { EXIT_OK, EXIT_USAGE, UsageError, type CliIO } from '../io.js'
import { CAPTURE_API_VERSION, CAPTURE_KIND } from '../../cluster/files.js'
import { STATE_KINDS, type StateKind } from '../../cluster/view.js'
import type { ListableKind } from '../../cluster/live.js'

export const HELP = `Usage: pod-preflight snapshot [options]

Saves the cluster state that cluster-aware rules read (Nodes, Namespaces, ResourceQuotas,
LimitRanges, ServiceAccounts, PersistentVolumeClaims, ConfigMaps, Secrets, Services, Pods)
from the current kubeconfig context, for 'pod-preflight check --cluster-state FILE'.

The file holds Kubernetes objects as 'kubectl get -o yaml' prints them, trimmed to what the
rules read: ConfigMaps keep their keys with empty values, Secrets only their names (they are
listed as metadata; their data is never read), Nodes lose their image lists, Pods keep labels,
node, ports and resources. A first document records which kinds were captured, so that an
empty kind (no PVC anywhere) still counts as known.

Options:
      --kubeconfig FILE   kubeconfig to use (default: KUBECONFIG, ~/.kube/config, in-cluster)
      --context NAME      kubeconfig context (default: the current context)
  -o, --output FILE       write here (default: standard output)
      --format FORMAT     yaml (default) or json
      --no-secrets        leave Secrets out (needs no permission on Secrets at all)
      --no-pods           leave Pods out (free-capacity and live Service checks then stay silent)
  -h, --help              show this help

Needs list on every kind it saves (see README, "RBAC of the cluster view"). A kind the
credentials may not list is left out with a warning, and its rules stay silent.
`

const ORDER: readonly ListableKind[] = ['Namespace', ...STATE_KINDS]

export async function run(args: string[], io: CliIO): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args,
      allowPositionals: false,
      strict: true,
      options: {
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
        output: { type: 'string', short: 'o' },
        format: { type: 'string', default: 'yaml' },
        'no-secrets': { type: 'boolean', default: false },
        'no-pods': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (err) {
    throw new UsageError(`${err instanceof Error ? err.message : String(err)}\n\n${HELP}`)
  }
  const { values } = parsed
  if (values.help === true) {
    io.stdout.write(HELP)
    return EXIT_OK
  }
  const format = values.format
  if (format !== 'yaml' && format !== 'json') throw new UsageError(`--format must be yaml or json, not '${format}'`)

  const { KubeConfig } = await import('@kubernetes/client-node')
  const { listObjects, httpStatusOf } = await import('../../cluster/live.js')
  const { trimObject } = await import('../../cluster/trim.js')
  const kc = new KubeConfig()
  try {
    const file = values.kubeconfig ?? io.env['KUBECONFIG']
    if (file !== undefined && file !== '' && !file.includes(':')) kc.loadFromFile(file)
    else kc.loadFromDefault()
    if (values.context !== undefined) kc.setCurrentContext(values.context)
  } catch (err) {
    throw new UsageError(`cannot read the kubeconfig: ${err instanceof Error ? err.message : String(err)}`)
  }
  const cluster = kc.getCurrentCluster()
  if (cluster === null) throw new UsageError('the kubeconfig has no current cluster (give --kubeconfig or --context)')

  const kinds = ORDER.filter((k) => !(k === 'Secret' && values['no-secrets'] === true) && !(k === 'Pod' && values['no-pods'] === true))
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
        io.stderr.write(`pod-preflight snapshot: warning: cannot list ${kind}s (HTTP ${status}): left out, their rules will stay silent\n`)
        continue
      }
      io.stderr.write(`pod-preflight snapshot: cannot read ${kind}s from ${cluster.server}: ${err instanceof Error ? err.message : String(err)}\n`)
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
      : `# pod-preflight snapshot of ${kc.getCurrentContext()} (${cluster.server}); read it with: pod-preflight check --cluster-state FILE\n${stringify(marker)}---\n${stringify(list)}`
  if (values.output !== undefined && values.output !== '-') {
    await writeFile(values.output, text)
    io.stderr.write(`pod-preflight snapshot: wrote ${values.output}: ${counts.join(', ')}\n`)
  } else {
    io.stdout.write(text)
    io.stderr.write(`pod-preflight snapshot: ${counts.join(', ')}\n`)
  }
  return EXIT_OK
}
