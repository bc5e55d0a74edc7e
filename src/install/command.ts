/**
 * `pod-preflight install` and `pod-preflight uninstall` without argument parsing: typed
 * options in, objects on stdout, notes on stderr.
 */
import { readFile, stat } from 'node:fs/promises'
import { isIP } from 'node:net'
import { resolve } from 'node:path'
import { stringify } from 'yaml'
import { UsageError, EXIT_OK, type CliIO } from '../cli/io.js'
import { progName } from '../cli/command.js'
import { parseImageRef } from '../engine/image-ref.js'
import { builtinPolicyName, PolicyError } from '../policy/policy.js'
import { readBuiltinPolicy } from '../policy/builtin.js'
import { RULES } from '../rules/index.js'
import { MAX_WORKERS } from '../admission/worker-count.js'
import { version } from '../version.js'
import {
  atLeast,
  checkSupported,
  DEFAULT_KUBE_VERSION,
  detectKubeVersion,
  formatKubeVersion,
  kubeconfigConfigured,
  KubeVersionError,
  parseKubeVersion,
  type KubeVersion,
} from './kube-version.js'
import { InstallPolicyError, shipPolicy, type PolicyMode } from './policy.js'

/** Webhook matchConditions: beta and on by default from Kubernetes 1.28 (GA in 1.30). */
const MATCH_CONDITIONS_MINOR = 28
import {
  DEFAULT_TLS_SECRET,
  describeInstall,
  exemptNamespaces,
  hasNamespaceNameLabel,
  renderInstall,
  renderUninstall,
  type CertificateMode,
  type InstallOptions,
  type KubeObject,
} from './render.js'

export type OutputFormat = 'yaml' | 'json'

/** Where the API server is asked for its version, or the version given instead. */
export interface ClusterTarget {
  /** --kube-version: render for this version without asking any server. */
  kubeVersion?: string
  kubeconfig?: string
  context?: string
}

export interface InstallCommandOptions extends ClusterTarget {
  namespace: string
  replicas: number
  /** Default: the image of this version. */
  image?: string
  /** Default: the policy file's own mode, else enforce. */
  mode?: PolicyMode
  clusterView: boolean
  companion: boolean
  /** serve --audit with the report CRDs and the scan's RBAC. */
  audit: boolean
  /** With companion: it also reads failed containers' previous logs (get on pods/log). */
  companionLogs?: boolean
  certificates: CertificateMode
  /** Default pod-preflight-tls; required in spirit for provided (the Secret the user made). */
  tlsSecretName?: string
  /** provided mode: PEM file of the CA that signed the user's certificate. */
  caBundleFile?: string
  /** Default: the shipped default policy. */
  policyFile?: string
  networkPolicy: boolean
  apiserverCidrs: string[]
  output: OutputFormat
  /** serve --workers in each pod (default 1). */
  workers?: number
  /** Render a HorizontalPodAutoscaler from `replicas` up to this many. */
  hpaMaxReplicas?: number
}

export interface UninstallCommandOptions extends ClusterTarget {
  namespace: string
  certificates: CertificateMode
  tlsSecretName?: string
  keepNamespace: boolean
  output: OutputFormat
}

export const DEFAULT_NAMESPACE = 'pod-preflight'
export const DEFAULT_REPLICAS = 2
export const MAX_REPLICAS = 50
export const DEFAULT_IMAGE = `ghcr.io/pod-preflight/pod-preflight:${version}`

/** `pod-preflight install` with no flags (manifests/ is generated from these). */
export function defaultInstallOptions(): InstallCommandOptions {
  return {
    namespace: DEFAULT_NAMESPACE,
    replicas: DEFAULT_REPLICAS,
    clusterView: false,
    companion: false,
    audit: false,
    certificates: 'self-managed',
    networkPolicy: true,
    apiserverCidrs: [],
    output: 'yaml',
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const MAX_CA_BUNDLE_BYTES = 256 * 1024

function shown(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s)
}

function checkName(value: string, flag: string, subdomain: boolean): void {
  const max = subdomain ? 253 : 63
  if (value.length > max || !(subdomain ? DNS_SUBDOMAIN : DNS_LABEL).test(value)) {
    throw new UsageError(
      `${flag}: ${shown(value)} is not a valid ${subdomain ? 'object' : 'namespace'} name: lower-case letters, digits and '-'${subdomain ? " and '.'" : ''}, starting and ending with a letter or digit, at most ${max} characters`,
    )
  }
}

function checkCidr(value: string): void {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(value)
  const family = m?.[1] !== undefined ? isIP(m[1]) : 0
  const bits = m?.[2] !== undefined ? Number(m[2]) : -1
  if (family === 0 || bits < 0 || bits > (family === 4 ? 32 : 128)) {
    throw new UsageError(`--apiserver-cidr: ${shown(value)} is not an address range; write e.g. 10.0.0.0/24 or 172.20.0.10/32`)
  }
}

async function readSmall(file: string, cwd: string, flag: string, max: number): Promise<{ text: string; path: string }> {
  const path = resolve(cwd, file)
  try {
    const s = await stat(path)
    if (!s.isFile()) throw new UsageError(`${flag}: ${file} is not a file`)
    if (s.size > max) throw new UsageError(`${flag}: ${file} is ${s.size} bytes, more than the ${max} this can hold`)
    return { text: await readFile(path, 'utf8'), path }
  } catch (err) {
    if (err instanceof UsageError) throw err
    const code = (err as NodeJS.ErrnoException).code
    throw new UsageError(`${flag}: cannot read ${file}${code !== undefined ? ` (${code})` : ''}`)
  }
}

/**
 * The version to render for: --kube-version, else the current context's API server, else (no
 * kubeconfig anywhere) the default with a note. A kubeconfig named by flag that cannot be
 * reached is an error; the implicit one falls back with a note.
 */
export async function resolveKubeVersion(o: ClusterTarget, io: CliIO, command: string): Promise<KubeVersion> {
  if (o.kubeVersion !== undefined) {
    try {
      const v = parseKubeVersion(o.kubeVersion)
      checkSupported(v, '--kube-version')
      return v
    } catch (err) {
      if (err instanceof KubeVersionError) throw new UsageError(err.message)
      throw err
    }
  }
  const detect = { env: io.env, ...(o.kubeconfig !== undefined ? { kubeconfig: o.kubeconfig } : {}), ...(o.context !== undefined ? { context: o.context } : {}) }
  const explicit = o.kubeconfig !== undefined || o.context !== undefined
  if (!kubeconfigConfigured(detect)) {
    io.stderr.write(
      `${progName(io)} ${command}: no kubeconfig to ask the API server's version; rendered for Kubernetes ${formatKubeVersion(DEFAULT_KUBE_VERSION)} and later (give --kube-version for another)\n`,
    )
    return DEFAULT_KUBE_VERSION
  }
  try {
    const found = await detectKubeVersion(detect)
    checkSupported(found.version, found.server)
    return found.version
  } catch (err) {
    if (!(err instanceof KubeVersionError)) throw err
    if (explicit || /older than the oldest supported/.test(err.message)) throw new UsageError(`${err.message} (or give --kube-version to render without asking)`)
    io.stderr.write(
      `${progName(io)} ${command}: ${err.message}; rendered for Kubernetes ${formatKubeVersion(DEFAULT_KUBE_VERSION)} and later (give --kube-version for another)\n`,
    )
    return DEFAULT_KUBE_VERSION
  }
}

export function formatObjects(objects: readonly KubeObject[], format: OutputFormat, header: string[]): string {
  if (format === 'json') return `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2)}\n`
  const head = header.map((l) => `# ${l}\n`).join('')
  return head + objects.map((obj) => stringify(obj, { lineWidth: 0 })).join('---\n')
}

/** Checks the options, reads the policy and CA files, and returns what to render. */
export async function installOptions(o: InstallCommandOptions, io: CliIO, kubeVersion: KubeVersion): Promise<{ options: InstallOptions; notes: string[] }> {
  checkName(o.namespace, '--namespace', false)
  if (!Number.isInteger(o.replicas) || o.replicas < 1 || o.replicas > MAX_REPLICAS) {
    throw new UsageError(`--replicas: ${o.replicas} is outside 1..${MAX_REPLICAS}`)
  }
  const workers = o.workers ?? 1
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) throw new UsageError(`--workers: ${workers} is outside 1..${MAX_WORKERS}`)
  if (o.hpaMaxReplicas !== undefined && (!Number.isInteger(o.hpaMaxReplicas) || o.hpaMaxReplicas < o.replicas || o.hpaMaxReplicas > MAX_REPLICAS)) {
    throw new UsageError(`--hpa: ${o.hpaMaxReplicas} is outside ${o.replicas}..${MAX_REPLICAS} (at least --replicas, the autoscaler's minimum)`)
  }
  const image = o.image ?? DEFAULT_IMAGE
  const parsed = parseImageRef(image)
  if (!parsed.ok) throw new UsageError(`--image: ${shown(image)} is not an image reference the kubelet can pull: ${parsed.error.message}`)
  const tlsSecretName = o.tlsSecretName ?? DEFAULT_TLS_SECRET
  checkName(tlsSecretName, '--tls-secret-name', true)
  if (o.certificates === 'provided' && o.tlsSecretName === undefined) {
    throw new UsageError('--certificates provided: give --tls-secret-name, the kubernetes.io/tls Secret you made in the namespace')
  }
  if (o.caBundleFile !== undefined && o.certificates !== 'provided') {
    throw new UsageError(`--ca-bundle is for --certificates provided; with ${o.certificates} the caBundle is ${o.certificates === 'self-managed' ? 'written by the webhook itself' : 'injected by cert-manager'}`)
  }
  for (const cidr of o.apiserverCidrs) checkCidr(cidr)
  if (!o.networkPolicy && o.apiserverCidrs.length > 0) throw new UsageError('--apiserver-cidr needs the NetworkPolicy; drop --no-network-policy')

  const notes: string[] = []
  let caBundlePem: string | undefined
  if (o.caBundleFile !== undefined) {
    const ca = await readSmall(o.caBundleFile, io.cwd, '--ca-bundle', MAX_CA_BUNDLE_BYTES)
    if (!/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.test(ca.text)) {
      throw new UsageError(`--ca-bundle: ${o.caBundleFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`)
    }
    caBundlePem = ca.text
  } else if (o.certificates === 'provided') {
    notes.push('no --ca-bundle: the API server checks the webhook certificate against its own trusted roots only')
  }

  let builtin
  try {
    builtin = o.policyFile === undefined ? ('default' as const) : builtinPolicyName(o.policyFile)
  } catch (err) {
    if (err instanceof PolicyError) throw new UsageError(`--policy ${err.message}`)
    throw err
  }
  const policyFile = builtin === undefined ? await readSmall(o.policyFile ?? '', io.cwd, '--policy', 4 * 1024 * 1024) : { text: await readBuiltinPolicy(builtin) }
  const source = o.policyFile ?? 'the default policy'
  let shipped
  try {
    shipped = shipPolicy(policyFile.text, source, RULES, {
      ...(o.mode !== undefined ? { mode: o.mode } : {}),
      ...(hasNamespaceNameLabel(kubeVersion)
        ? {}
        : {
            exemptNamespaces: exemptNamespaces(o),
            exemptReason: `Not judged: before Kubernetes 1.21 the webhook configuration cannot exclude namespaces by name (added by pod-preflight install for Kubernetes ${formatKubeVersion(kubeVersion)}).`,
          }),
    })
  } catch (err) {
    if (err instanceof InstallPolicyError) throw new UsageError(err.message)
    throw err
  }
  notes.push(...shipped.notes)
  const skipOwnedCondition = shipped.ownedObjects === 'skip' && atLeast(kubeVersion, 1, MATCH_CONDITIONS_MINOR)
  if (shipped.ownedObjects === 'skip' && !skipOwnedCondition) {
    notes.push(
      `the policy says ownedObjects: skip; Kubernetes ${formatKubeVersion(kubeVersion)} has no webhook matchConditions (1.${MATCH_CONDITIONS_MINOR} and later), so the API server still calls the webhook for controller-owned objects, and the webhook answers them at once without judging`,
    )
  }

  const options: InstallOptions = {
    namespace: o.namespace,
    replicas: o.replicas,
    image,
    kubeVersion,
    clusterView: o.clusterView,
    companion: o.companion,
    audit: o.audit,
    ...(o.companionLogs === true ? { companionLogs: true } : {}),
    certificates: o.certificates,
    tlsSecretName,
    policyText: shipped.text,
    mode: shipped.mode,
    policyBindings: shipped.bindings > 0,
    networkPolicy: o.networkPolicy,
    apiserverCidrs: o.apiserverCidrs,
    ...(caBundlePem !== undefined ? { caBundlePem } : {}),
    ...(workers > 1 ? { workers } : {}),
    ...(o.hpaMaxReplicas !== undefined ? { hpaMaxReplicas: o.hpaMaxReplicas } : {}),
    ...(skipOwnedCondition ? { skipOwnedCondition } : {}),
  }
  return { options, notes }
}

export async function install(o: InstallCommandOptions, io: CliIO): Promise<number> {
  const kubeVersion = await resolveKubeVersion(o, io, 'install')
  const { options, notes } = await installOptions(o, io, kubeVersion)
  for (const n of notes) io.stderr.write(`${progName(io)} install: ${n}\n`)
  const header = [describeInstall(options, version), 'Apply with: pod-preflight install ... | kubectl apply -f -']
  io.stdout.write(formatObjects(renderInstall(options), o.output, header))
  return EXIT_OK
}

export async function uninstall(o: UninstallCommandOptions, io: CliIO): Promise<number> {
  checkName(o.namespace, '--namespace', false)
  const tlsSecretName = o.tlsSecretName ?? DEFAULT_TLS_SECRET
  checkName(tlsSecretName, '--tls-secret-name', true)
  const kubeVersion = await resolveKubeVersion(o, io, 'uninstall')
  const objects = renderUninstall({ namespace: o.namespace, kubeVersion, certificates: o.certificates, tlsSecretName, deleteNamespace: !o.keepNamespace })
  const header = [
    `What pod-preflight install made in namespace ${o.namespace}, the webhook configuration first.`,
    'Delete with: pod-preflight uninstall ... | kubectl delete --ignore-not-found -f -',
  ]
  io.stdout.write(formatObjects(objects, o.output, header))
  return EXIT_OK
}
