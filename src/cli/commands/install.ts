/**
 * `pod-preflight install` and `pod-preflight uninstall`: flags in, the typed options of
 * src/install/command.ts out.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { UsageError, EXIT_OK, type CliIO } from '../io.js'
import {
  DEFAULT_NAMESPACE,
  DEFAULT_REPLICAS,
  DEFAULT_IMAGE,
  install,
  uninstall,
  type InstallCommandOptions,
  type OutputFormat,
} from '../../install/command.js'
import { CERTIFICATE_MODES, DEFAULT_TLS_SECRET, type CertificateMode } from '../../install/render.js'
import { POLICY_MODES, type PolicyMode } from '../../install/policy.js'
import { MIN_KUBE_VERSION, DEFAULT_KUBE_VERSION, formatKubeVersion } from '../../install/kube-version.js'

export const INSTALL_USAGE = `Usage: pod-preflight install [options] | kubectl apply -f -

Prints every object of an installation of the webhook (YAML or JSON) on stdout.

Options:
  -n, --namespace NAME        namespace to install into (default ${DEFAULT_NAMESPACE})
  --replicas N                webhook replicas (default ${DEFAULT_REPLICAS})
  --image REF                 image (default ${DEFAULT_IMAGE})
  --mode enforce|audit        written into the shipped policy as mode: (default: the policy's own, else enforce)
  --policy FILE               policy file to ship in the ConfigMap (default: the default policy)
  --cluster-view              judge against live cluster state (serve --cluster; binds its read-only role)
  --companion                 explain failed pods as Events (serve --companion; binds its role)
  --audit                     keep PolicyReports of what runs (serve --audit): renders the
                              wgpolicyk8s.io/v1alpha2 report CRDs and binds the scan's roles
  --companion-logs            with --companion: also read failed containers' previous logs
                              (serve --companion-logs; adds get on pods/log to its role)
  --certificates MODE         self-managed (default), cert-manager or provided
  --tls-secret-name NAME      the Secret of the serving certificate (default ${DEFAULT_TLS_SECRET};
                              required with provided: the kubernetes.io/tls Secret you made)
  --ca-bundle FILE            provided: PEM of the CA that signed it, written as the caBundle
  --apiserver-cidr CIDR       source range of the API server's calls (repeatable); default: any
  --no-network-policy         do not render the NetworkPolicy
  --kube-version X.Y          render for this Kubernetes version instead of asking the API server
  --kubeconfig FILE           kubeconfig to ask the version from (default: as kubectl)
  --context NAME              its context
  -o, --output yaml|json      output format (default yaml); --format is the same

Renders for the API server of the current kubeconfig context (GET /version); without one, for
Kubernetes ${formatKubeVersion(DEFAULT_KUBE_VERSION)} and later. Kubernetes before ${formatKubeVersion(MIN_KUBE_VERSION)} is refused.
`

export const UNINSTALL_USAGE = `Usage: pod-preflight uninstall [options] | kubectl delete --ignore-not-found -f -

Prints what an install made, the webhook configuration first, for kubectl delete.

Options:
  -n, --namespace NAME        the namespace installed into (default ${DEFAULT_NAMESPACE})
  --certificates MODE         as installed: self-managed (default), cert-manager or provided
  --tls-secret-name NAME      as installed (a provided Secret is never listed)
  --keep-namespace            do not delete the namespace (install into a shared one)
  --kube-version X.Y, --kubeconfig FILE, --context NAME   as for install
  -o, --output yaml|json      output format (default yaml)
`

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string): T | undefined {
  if (value === undefined) return undefined
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag}: '${value}' is not one of ${allowed.join(', ')}`)
  return value as T
}

function parse(args: string[], options: NonNullable<ParseArgsConfig['options']>, usage: string): { values: Record<string, string | boolean | (string | boolean)[] | undefined> } {
  try {
    return parseArgs({ args, strict: true, allowPositionals: false, options }) as { values: Record<string, string | boolean | (string | boolean)[] | undefined> }
  } catch (err) {
    throw new UsageError(`${err instanceof Error ? err.message : String(err)}\n\n${usage}`)
  }
}

const COMMON = {
  help: { type: 'boolean', short: 'h' },
  namespace: { type: 'string', short: 'n' },
  certificates: { type: 'string' },
  'tls-secret-name': { type: 'string' },
  'kube-version': { type: 'string' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  output: { type: 'string', short: 'o' },
  format: { type: 'string' },
} as const

function output(v: { output?: string | boolean | undefined; format?: string | boolean | undefined }): OutputFormat {
  const o = typeof v.output === 'string' ? v.output : typeof v.format === 'string' ? v.format : 'yaml'
  return oneOf<OutputFormat>(o, ['yaml', 'json'], '--output') ?? 'yaml'
}

export async function run(args: string[], io: CliIO): Promise<number> {
  const { values: v } = parse(
    args,
    {
      ...COMMON,
      replicas: { type: 'string' },
      image: { type: 'string' },
      mode: { type: 'string' },
      policy: { type: 'string' },
      'cluster-view': { type: 'boolean' },
      companion: { type: 'boolean' },
      audit: { type: 'boolean' },
      'companion-logs': { type: 'boolean' },
      'ca-bundle': { type: 'string' },
      'apiserver-cidr': { type: 'string', multiple: true },
      'no-network-policy': { type: 'boolean' },
    },
    INSTALL_USAGE,
  )
  if (v['help'] === true) {
    io.stdout.write(INSTALL_USAGE)
    return EXIT_OK
  }
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined)
  const replicasText = str('replicas')
  if (replicasText !== undefined && !/^\d{1,6}$/.test(replicasText)) throw new UsageError(`--replicas: '${replicasText}' is not a whole number`)
  const o: InstallCommandOptions = {
    namespace: str('namespace') ?? DEFAULT_NAMESPACE,
    replicas: replicasText !== undefined ? Number(replicasText) : DEFAULT_REPLICAS,
    clusterView: v['cluster-view'] === true,
    companion: v['companion'] === true,
    audit: v['audit'] === true,
    certificates: oneOf<CertificateMode>(str('certificates'), CERTIFICATE_MODES, '--certificates') ?? 'self-managed',
    networkPolicy: v['no-network-policy'] !== true,
    apiserverCidrs: Array.isArray(v['apiserver-cidr']) ? (v['apiserver-cidr'] as string[]) : [],
    output: output(v as Record<string, string | undefined>),
  }
  if (v['companion-logs'] === true) {
    if (v['companion'] !== true) throw new UsageError('--companion-logs goes with --companion')
    o.companionLogs = true
  }
  const mode = oneOf<PolicyMode>(str('mode'), POLICY_MODES, '--mode')
  if (mode !== undefined) o.mode = mode
  for (const [flag, key] of [['image', 'image'], ['policy', 'policyFile'], ['tls-secret-name', 'tlsSecretName'], ['ca-bundle', 'caBundleFile'], ['kube-version', 'kubeVersion'], ['kubeconfig', 'kubeconfig'], ['context', 'context']] as const) {
    const value = str(flag)
    if (value !== undefined) o[key] = value
  }
  return install(o, io)
}

export async function runUninstall(args: string[], io: CliIO): Promise<number> {
  const { values: v } = parse(args, { ...COMMON, 'keep-namespace': { type: 'boolean' } }, UNINSTALL_USAGE)
  if (v['help'] === true) {
    io.stdout.write(UNINSTALL_USAGE)
    return EXIT_OK
  }
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined)
  return uninstall(
    {
      namespace: str('namespace') ?? DEFAULT_NAMESPACE,
      certificates: oneOf<CertificateMode>(str('certificates'), CERTIFICATE_MODES, '--certificates') ?? 'self-managed',
      keepNamespace: v['keep-namespace'] === true,
      output: output(v as Record<string, string | undefined>),
      ...(str('tls-secret-name') !== undefined ? { tlsSecretName: str('tls-secret-name') as string } : {}),
      ...(str('kube-version') !== undefined ? { kubeVersion: str('kube-version') as string } : {}),
      ...(str('kubeconfig') !== undefined ? { kubeconfig: str('kubeconfig') as string } : {}),
      ...(str('context') !== undefined ? { context: str('context') as string } : {}),
    },
    io,
  )
}
