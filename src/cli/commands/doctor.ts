/**
 * `pod-preflight doctor`: checks a live installation, one line per check with a fix for each
 * that fails (kubectl-style, as `linkerd check`). Exit 0 only when no check failed.
 */
import { Option } from 'commander'
import { EXIT_OK, UsageError, type CliIO } from '../io.js'
import { kubeOptions, namespaceOption, outputFormat, outputOption, type CommandSpec, type OutputOpts } from '../command.js'
import { CERTIFICATE_MODES, NAME, renderInstall, type CertificateMode } from '../../install/render.js'
import { DEFAULT_NAMESPACE, defaultInstallOptions, installOptions } from '../../install/command.js'
import { runChecks, rulesFromObjects, tlsReadyz, tlsServedCertificate } from '../../doctor/checks.js'
import { exitStatus, formatJson, formatText } from '../../doctor/report.js'
import { kubeRest } from '../../kube/rest.js'
import { quote } from '../../text/sanitize.js'

const FORMATS = ['text', 'json'] as const

interface DoctorOpts extends OutputOpts {
  namespace?: string
  kubeconfig?: string
  context?: string
  certificates?: string
  tlsSecretName?: string
  clusterView?: boolean
  companion?: boolean
  probeNamespace?: string
}

export const command: CommandSpec<DoctorOpts> = {
  configure(cmd) {
    cmd.description(
      'Checks a live installation: the webhook configuration, that its caBundle verifies the certificate the webhook serves, the certificate expiry, ready endpoints, that the cluster view has synced (with --cluster-view), the service account RBAC, the policy ConfigMap, the server version, and a server-side dry run of a known-bad Pod. Exit 0 only when every check passes.',
    )
    namespaceOption(cmd, `the namespace installed into (default ${DEFAULT_NAMESPACE})`)
    cmd.addOption(new Option('--certificates <mode>', 'as installed: self-managed (default), cert-manager or provided').choices([...CERTIFICATE_MODES]))
    cmd.addOption(new Option('--tls-secret-name <name>', 'as installed'))
    cmd.addOption(new Option('--cluster-view', 'as installed: the RBAC of the cluster view is checked too'))
    cmd.addOption(new Option('--companion', 'as installed: the RBAC of the companion is checked too'))
    cmd.addOption(new Option('--probe-namespace <namespace>', 'namespace of the dry-run probe Pod (default: default)'))
    kubeOptions(cmd)
    outputOption(cmd, FORMATS, 'text')
  },
  async action(opts, _operands, io: CliIO) {
    const format = outputFormat(opts, FORMATS, 'text')
    const namespace = opts.namespace ?? DEFAULT_NAMESPACE
    const { loadKubeConfig } = await import('../../analyzer/cluster-source.js')
    let kc
    try {
      kc = loadKubeConfig({ ...(opts.kubeconfig !== undefined ? { kubeconfig: opts.kubeconfig } : {}), ...(opts.context !== undefined ? { context: opts.context } : {}), env: io.env })
    } catch (err) {
      throw new UsageError(err instanceof Error ? err.message : String(err))
    }
    const certificates = (opts.certificates ?? 'self-managed') as CertificateMode
    const flags = [
      ...(namespace !== DEFAULT_NAMESPACE ? [`-n ${namespace}`] : []),
      ...(certificates !== 'self-managed' ? [`--certificates ${certificates}`] : []),
      ...(opts.tlsSecretName !== undefined ? [`--tls-secret-name ${opts.tlsSecretName}`] : []),
      ...(opts.clusterView === true ? ['--cluster-view'] : []),
      ...(opts.companion === true ? ['--companion'] : []),
    ]
    const checks = await runChecks(
      {
        namespace,
        webhookConfiguration: NAME,
        service: NAME,
        serviceAccount: NAME,
        deployment: NAME,
        probeNamespace: opts.probeNamespace ?? 'default',
        installFlags: flags.map((f) => `${f} `).join(''),
        clusterView: opts.clusterView === true,
      },
      {
        rest: kubeRest(kc),
        servedCertificate: (host, port, servername) => tlsServedCertificate(host, port, servername),
        readyz: (host, port, servername) => tlsReadyz(host, port, servername),
        now: () => new Date(),
        async neededRules(kubeVersion, policyBindings) {
          const o = { ...defaultInstallOptions(), namespace, certificates, clusterView: opts.clusterView === true, companion: opts.companion === true }
          if (opts.tlsSecretName !== undefined) o.tlsSecretName = opts.tlsSecretName
          if (certificates === 'provided' && o.tlsSecretName === undefined) throw new UsageError(`--certificates provided: give --tls-secret-name, as installed (${quote(namespace)})`)
          const { options } = await installOptions(o, io, kubeVersion)
          // The policy in the cluster, not the default one: its bindings need Namespace reads.
          return rulesFromObjects(renderInstall({ ...options, policyBindings }), namespace, NAME)
        },
      },
    )
    io.stdout.write(format === 'json' ? formatJson(checks) : formatText(checks))
    return exitStatus(checks) === 0 ? EXIT_OK : 1
  },
}
