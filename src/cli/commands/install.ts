/**
 * `pod-preflight install` and `pod-preflight uninstall`: flags in, the typed options of
 * src/install/command.ts out. Both read the shared options (-n, -o, --kubeconfig, --context).
 */
import { Option } from 'commander'
import { UsageError, type CliIO } from '../io.js'
import { kubeOptions, namespaceOption, outputFileOption, outputFormat, outputOption, runCommand, valuesOption, withOutputFile, type CommandSpec, type OutputOpts } from '../command.js'
import {
  DEFAULT_NAMESPACE,
  DEFAULT_REPLICAS,
  DEFAULT_IMAGE,
  install,
  uninstall,
  type InstallCommandOptions,
  type OutputFormat,
  type UninstallCommandOptions,
} from '../../install/command.js'
import { CERTIFICATE_MODES, DEFAULT_TLS_SECRET, type CertificateMode } from '../../install/render.js'
import { POLICY_MODES, type PolicyMode } from '../../install/policy.js'
import { MIN_KUBE_VERSION, DEFAULT_KUBE_VERSION, formatKubeVersion } from '../../install/kube-version.js'
import { quote } from '../../text/sanitize.js'

const FORMATS: readonly OutputFormat[] = ['yaml', 'json']

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string): T | undefined {
  if (value === undefined) return undefined
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag}: ${quote(value)} is not one of ${allowed.join(', ')}`)
  return value as T
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

/** The options install and uninstall share. */
interface TargetOpts extends OutputOpts {
  namespace?: string
  certificates?: string
  tlsSecretName?: string
  kubeVersion?: string
  kubeconfig?: string
  context?: string
  outputFile?: string
}

function targetOptions(cmd: import('commander').Command, namespaceHelp: string, certificatesHelp: string, tlsHelp: string): void {
  namespaceOption(cmd, namespaceHelp)
  valuesOption(cmd, '--certificates <mode>', certificatesHelp, CERTIFICATE_MODES)
  cmd.addOption(new Option('--tls-secret-name <name>', tlsHelp))
  cmd.addOption(new Option('--kube-version <x.y>', 'render for this Kubernetes version instead of asking the API server'))
  kubeOptions(cmd)
  outputOption(cmd, FORMATS, 'yaml')
  outputFileOption(cmd, 'the manifests')
}

/** What both commands pass on: the cluster target, the namespace, certificates and the format. */
function target(o: TargetOpts): Pick<UninstallCommandOptions, 'namespace' | 'certificates' | 'output' | 'tlsSecretName' | 'kubeVersion' | 'kubeconfig' | 'context'> {
  return {
    namespace: o.namespace ?? DEFAULT_NAMESPACE,
    certificates: oneOf<CertificateMode>(o.certificates, CERTIFICATE_MODES, '--certificates') ?? 'self-managed',
    output: outputFormat(o, FORMATS, 'yaml'),
    ...(o.tlsSecretName !== undefined ? { tlsSecretName: o.tlsSecretName } : {}),
    ...(o.kubeVersion !== undefined ? { kubeVersion: o.kubeVersion } : {}),
    ...(o.kubeconfig !== undefined ? { kubeconfig: o.kubeconfig } : {}),
    ...(o.context !== undefined ? { context: o.context } : {}),
  }
}

interface InstallOpts extends TargetOpts {
  replicas?: string
  workers?: string
  hpa?: string
  image?: string
  mode?: string
  policy?: string
  clusterView?: boolean
  companion?: boolean
  audit?: boolean
  companionLogs?: boolean
  caBundle?: string
  apiserverCidr?: string[]
  networkPolicy: boolean
}

export const command: CommandSpec<InstallOpts> = {
  configure(cmd, { prog }) {
    cmd
      .usage('[options] | kubectl apply -f -')
      .description('Prints every object of an installation of the webhook (YAML or JSON) on stdout.')
    targetOptions(
      cmd,
      `namespace to install into (default ${DEFAULT_NAMESPACE})`,
      'self-managed (default), cert-manager or provided',
      `the Secret of the serving certificate (default ${DEFAULT_TLS_SECRET}; required with provided: the kubernetes.io/tls Secret you made)`,
    )
    cmd
      .option('--replicas <n>', `webhook replicas (default ${DEFAULT_REPLICAS})`)
      .option('--image <ref>', `image (default ${DEFAULT_IMAGE})`)
      .option('--workers <n>', 'serve --workers in each pod: worker processes, one core each; the CPU request is one core per worker and memory 256Mi per worker plus 128Mi (default 1: one process, 100m and 256Mi)')
      .option('--hpa <max>', 'render a HorizontalPodAutoscaler on CPU (70% of the request) from --replicas up to MAX replicas; the Deployment then leaves its replica count to it')
    valuesOption(cmd, '--mode <mode>', "enforce or audit, written into the shipped policy as mode: (default: the policy's own, else enforce)", POLICY_MODES)
    cmd
      .option('-p, --policy <file>', 'policy file to ship in the ConfigMap, or builtin:strict (default: the default policy); with ownedObjects: skip, Kubernetes 1.28+ does not call the webhook for controller-owned objects')
      .option('--cluster-view', 'judge against live cluster state (serve --cluster; binds its read-only role)')
      .option('--companion', 'explain failed pods as Events (serve --companion; binds its role)')
      .option('--audit', 'keep PolicyReports of what runs (serve --audit): renders the wgpolicyk8s.io/v1alpha2 report CRDs and binds the scan\'s roles')
      .option('--companion-logs', "with --companion: also read failed containers' previous logs (serve --companion-logs; adds get on pods/log to its role)")
      .option('--ca-bundle <file>', 'provided: PEM of the CA that signed it, written as the caBundle')
      .option('--apiserver-cidr <cidr>', "source range of the API server's calls (repeatable; default: any)", collect)
      .option('--no-network-policy', 'do not render the NetworkPolicy')
      .addHelpText(
        'after',
        `\nRenders for the API server of the current kubeconfig context (GET /version); without one, for\n` +
          `Kubernetes ${formatKubeVersion(DEFAULT_KUBE_VERSION)} and later. Kubernetes before ${formatKubeVersion(MIN_KUBE_VERSION)} is refused.\n\n` +
          `Example:\n  ${prog} install --cluster-view -n pod-preflight | kubectl apply -f -`,
      )
  },
  action: (opts, _operands, io, ctx) => withOutputFile(opts.outputFile, io, ctx, (out) => install(installOptionsFrom(opts), out)),
}

function installOptionsFrom(v: InstallOpts): InstallCommandOptions {
  for (const [flag, value] of [['--replicas', v.replicas], ['--workers', v.workers], ['--hpa', v.hpa]] as const) {
    if (value !== undefined && !/^\d{1,6}$/.test(value)) throw new UsageError(`${flag}: ${quote(value)} is not a whole number`)
  }
  const o: InstallCommandOptions = {
    ...target(v),
    replicas: v.replicas !== undefined ? Number(v.replicas) : DEFAULT_REPLICAS,
    clusterView: v.clusterView === true,
    companion: v.companion === true,
    audit: v.audit === true,
    networkPolicy: v.networkPolicy,
    apiserverCidrs: v.apiserverCidr ?? [],
  }
  if (v.companionLogs === true) {
    if (v.companion !== true) throw new UsageError('--companion-logs goes with --companion')
    o.companionLogs = true
  }
  const mode = oneOf<PolicyMode>(v.mode, POLICY_MODES, '--mode')
  if (mode !== undefined) o.mode = mode
  if (v.image !== undefined) o.image = v.image
  if (v.workers !== undefined) o.workers = Number(v.workers)
  if (v.hpa !== undefined) o.hpaMaxReplicas = Number(v.hpa)
  if (v.policy !== undefined) o.policyFile = v.policy
  if (v.caBundle !== undefined) o.caBundleFile = v.caBundle
  return o
}

interface UninstallOpts extends TargetOpts {
  keepNamespace?: boolean
}

export const uninstallCommand: CommandSpec<UninstallOpts> = {
  configure(cmd) {
    cmd
      .usage('[options] | kubectl delete --ignore-not-found -f -')
      .description('Prints what an install made, the webhook configuration first, for kubectl delete.')
    targetOptions(
      cmd,
      `the namespace installed into (default ${DEFAULT_NAMESPACE})`,
      'as installed: self-managed (default), cert-manager or provided',
      'as installed (a provided Secret is never listed)',
    )
    cmd.option('--keep-namespace', 'do not delete the namespace (install into a shared one)')
  },
  action: (opts, _operands, io, ctx) => withOutputFile(opts.outputFile, io, ctx, (out) => uninstall({ ...target(opts), keepNamespace: opts.keepNamespace === true }, out)),
}

/** `install ARGS` and `uninstall ARGS` as main runs them, for tests. */
export const run = (args: string[], io: CliIO): Promise<number> => runCommand(command as CommandSpec<object>, 'install', args, io)
export const runUninstall = (args: string[], io: CliIO): Promise<number> => runCommand(uninstallCommand as CommandSpec<object>, 'uninstall', args, io)
