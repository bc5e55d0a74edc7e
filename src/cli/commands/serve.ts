/**
 * `pod-preflight serve`: the admission webhook over HTTPS. Flags in, startServer() out, then
 * wait for SIGTERM/SIGINT and shut down gracefully.
 */
import type { DestinationStream, Logger } from 'pino'
import { memoryIO, UsageError, type CliIO } from '../io.js'
import { kubeOptions, namespaceOption, parseOptions, runCommand, type CommandSpec } from '../command.js'
import { RULES } from '../../rules/index.js'
import { readFileSync } from 'node:fs'
// Static, as every Node built-in here: the single executable cannot import() one at run time.
import cluster from 'node:cluster'
import { startServer, DEFAULT_RELOAD_INTERVAL_MS, DEFAULT_SHUTDOWN_TIMEOUT_MS, type ServerOptions, type SelfManagedOptions } from '../../admission/server.js'
import { CertStartError, DEFAULT_CERT_VALIDITY_MS, MIN_CERT_VALIDITY_MS } from '../../certs/defaults.js'
import { createLogger, exitAfterLastLines, LOG_LEVELS, type LogLevel } from '../../admission/logger.js'
import { DEFAULT_BUDGET_MS, DEFAULT_REQUEST_TIMEOUT_MS, REVIEW_LOGS, type ReviewLog } from '../../admission/app.js'
import { DEFAULT_MAX_WARNINGS } from '../../admission/warnings.js'
import { DEFAULT_CACHE_ENTRIES } from '../../admission/verdict-cache.js'
import { WorkerStartError } from '../../admission/workers.js'
import { MAX_WORKERS } from '../../admission/worker-count.js'

/**
 * After SIGTERM, keep answering this long: the endpoint removal reaches the API server (and
 * kube-proxy) asynchronously, and reviews sent to this replica meanwhile would be reset and let
 * through unchecked under failurePolicy Ignore. Measured with 200 concurrent reviews: 0s let up to
 * 118 through, 5s none. The manifests render the same value, well inside the 30 s grace period.
 */
export const DEFAULT_SHUTDOWN_DELAY_MS = 5_000
import { TlsFilesError } from '../../admission/tls.js'
import { SeamError } from '../../admission/seams.js'
import { PolicyError } from '../../policy/policy.js'
import { handleInterruptInCommand } from '../interrupt.js'
import { quote } from '../../text/sanitize.js'

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** Parses "500ms", "2.5s", "1m", "12h", "365d" (and "0") into milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim())
  if (text.trim() === '0') return 0
  if (m === null) throw new UsageError(`${flag}: ${quote(text)} is not a duration; write e.g. 500ms, 2.5s, 1m or 365d`)
  return Math.round(Number(m[1]) * (DURATION_UNITS[m[2] ?? 's'] ?? 1000))
}

/** Where a pod learns its namespace when no flag names it. */
export const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace'

/** The namespace of the webhook: the flag, else POD_NAMESPACE, else the service account's namespace file. */
export function resolveNamespace(flag: string | undefined, env: Record<string, string | undefined>, readFile: (path: string) => string | undefined): string | undefined {
  if (flag !== undefined && flag !== '') return flag
  const fromEnv = env['POD_NAMESPACE']
  if (fromEnv !== undefined && fromEnv.trim() !== '') return fromEnv.trim()
  const fromFile = readFile(SERVICE_ACCOUNT_NAMESPACE_FILE)?.trim()
  return fromFile !== undefined && fromFile !== '' ? fromFile : undefined
}

function readTextFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

/** A DNS-1123 name (Secrets, Services, webhook configurations, namespaces). */
function checkName(value: string, flag: string): string {
  if (value.length > 253 || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(value)) throw new UsageError(`${flag}: ${quote(value)} is not a valid Kubernetes name (lower-case letters, digits, '-' and '.')`)
  return value
}

function parseInteger(text: string, flag: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${flag}: ${quote(text)} is not a whole number`)
  const n = Number(text)
  if (n < min || n > max) throw new UsageError(`${flag}: ${n} is outside ${min}..${max}`)
  return n
}

export interface ServeConfig {
  options: Omit<ServerOptions, 'rules' | 'logger'>
  logLevel: LogLevel
  shutdownDelayMs: number
  /** Processes serving the webhook port (1: this one alone; more: a primary and that many workers). */
  workers: number
}

interface ServeOpts {
  host?: string
  port?: string
  tlsCert?: string
  tlsKey?: string
  tlsSecret?: string
  webhookConfiguration?: string
  service?: string
  namespace?: string
  certValidity?: string
  policy?: string
  reloadInterval?: string
  timeBudget?: string
  maxWarnings?: string
  cacheSize?: string
  http2?: boolean
  shutdownDelay?: string
  shutdownTimeout?: string
  requestTimeout?: string
  metricsPort?: string
  logLevel?: string
  reviewLog?: string
  cluster?: boolean
  companion?: boolean
  companionLogs?: boolean
  audit?: boolean
  auditInterval?: string
  leaseNamespace?: string
  leaseDuration?: string
  kubeconfig?: string
  context?: string
  workers?: string
}

export const command: CommandSpec<ServeOpts> = {
  configure(cmd) {
    cmd
      .usage('--tls-cert FILE --tls-key FILE [options]')
      .description(
        'Runs the validating admission webhook over HTTPS:\n' +
          '  POST /validate   AdmissionReview admission.k8s.io/v1\n' +
          '  GET  /healthz    the process is alive\n' +
          '  GET  /readyz     policy loaded (and cluster view synced, with --cluster)\n' +
          '  GET  /metrics    Prometheus metrics',
      )
      .option('--host <address>', 'address to listen on (default 127.0.0.1; 0.0.0.0 in a container)')
      .option('--port <port>', 'port to listen on (default 8443)')
      .option('--tls-cert <file>', 'serving certificate (PEM); reloaded when the file changes')
      .option('--tls-key <file>', 'its private key (PEM)')
      .option('--tls-secret <name>', 'self-managed certificates: find or create CA and certificate in this Secret, keep the caBundle of --webhook-configuration in step, renew at 2/3 of --cert-validity (instead of --tls-cert/--tls-key)')
      .option('--webhook-configuration <name>', 'the ValidatingWebhookConfiguration whose caBundle is kept')
      .option('--service <name>', 'the Service the API server calls (the certificate covers its names)')
    namespaceOption(cmd, "namespace of Secret and Service (default: POD_NAMESPACE, else the service account's namespace)")
    cmd
      .option('--cert-validity <duration>', 'lifetime of each self-managed certificate (default 365d)')
      .option('--policy <file>', 'policy file, reloaded when it changes, or builtin:strict (default: the shipped default policy)')
      .option('--reload-interval <duration>', `how often certificate and policy files are checked (default ${DEFAULT_RELOAD_INTERVAL_MS / 1000}s)`)
      .option('--time-budget <duration>', `answer "allowed, not fully checked" when judging takes longer (default ${DEFAULT_BUDGET_MS}ms; keep it below the webhook's timeoutSeconds)`)
      .option('--max-warnings <n>', `most warnings in one answer (default ${DEFAULT_MAX_WARNINGS})`)
      .option('--cache-size <n>', `evaluations of identical objects to remember (default ${DEFAULT_CACHE_ENTRIES}; 0: off)`)
      .option('--shutdown-delay <duration>', `on SIGTERM, answer /readyz 503 and keep answering reviews this long before closing, while the endpoint removal reaches the API server (default ${DEFAULT_SHUTDOWN_DELAY_MS / 1000}s; 0s: close at once)`)
      .option('--metrics-port <port>', 'serve GET /metrics on this port, plain HTTP, and no longer on the webhook port (default: on the webhook port)')
      .option('--shutdown-timeout <duration>', `after the delay, wait this long for requests in flight, then close their connections (default ${DEFAULT_SHUTDOWN_TIMEOUT_MS / 1000}s; delay plus timeout below the pod's terminationGracePeriodSeconds)`)
      .option('--http2', 'offer HTTP/2 (h2) in the TLS handshake besides HTTP/1.1 (default: HTTP/1.1 only, the protocol the API server asks for)')
      .option('--request-timeout <duration>', `a client must send the TLS handshake, headers and whole body within this (default ${DEFAULT_REQUEST_TIMEOUT_MS / 1000}s)`)
      .option('--workers <n>', `worker processes sharing the webhook port, each on its own core; certificate, policy file, audit and companion stay in one primary process (default 1: no workers; at most ${MAX_WORKERS})`)
      .option('--log-level <level>', `${LOG_LEVELS.join(', ')} (default info)`)
      .option('--review-log <which>', 'which reviews get a log line: all, or warned (those warned, denied, would-deny, not fully judged, or with a rule skipped or exempted; the rest are counted in /metrics only) (default all)')
      .option('--cluster', 'judge against the live cluster state (cluster-scoped rules)')
      .option('--companion', 'explain failed pods as they fail (counted in /metrics)')
      .option('--companion-logs', "with --companion: also read failed containers' previous logs for known failure signatures (needs get on pods/log)")
      .option('--audit', 'background audit: keep one PolicyReport (wgpolicyk8s.io/v1alpha2) per namespace and a ClusterPolicyReport up to date; one replica writes (a Lease)')
      .option('--audit-interval <duration>', 'how often the leader audits the cluster (default 60s)')
      .option('--lease-namespace <namespace>', 'namespace of the Leases of --audit and --companion (default: POD_NAMESPACE, else pod-preflight); with several replicas one holds each Lease')
      .option('--lease-duration <duration>', 'how long a leader that stopped renewing keeps a Lease (default 15s)')
    kubeOptions(
      cmd,
      'kubeconfig for --cluster/--companion/--audit/--tls-secret and namespace labels (default: KUBECONFIG, then the service account in a pod, then ~/.kube/config)',
    )
    cmd
      .addHelpText('after', '\nDurations are written like 500ms, 2.5s, 1m, 12h or 365d.')
  },
  action: (opts, _operands, io) => serve(toConfig(opts, io.env, readTextFile), io),
}

/** `serve ARGS` as main runs it, for tests. */
export const run = (args: string[], io: CliIO): Promise<number> => runCommand(command as CommandSpec<object>, 'serve', args, io)

/** Reads the flags; throws UsageError. Returns undefined for --help. */
export function parseServeArgs(
  args: string[],
  env: Record<string, string | undefined> = process.env,
  readFile: (path: string) => string | undefined = readTextFile,
): ServeConfig | undefined {
  const parsed = parseOptions(command, 'serve', args, memoryIO())
  return parsed === undefined ? undefined : toConfig(parsed.opts, env, readFile)
}

function toConfig(v: ServeOpts, env: Record<string, string | undefined>, readFile: (path: string) => string | undefined): ServeConfig {
  const cert = v.tlsCert
  const key = v.tlsKey
  const secret = v.tlsSecret
  let selfManaged: SelfManagedOptions | undefined
  if (secret !== undefined) {
    if (cert !== undefined || key !== undefined) throw new UsageError('--tls-secret (self-managed certificates) and --tls-cert/--tls-key (certificate files) exclude each other; give one')
    const vwc = v.webhookConfiguration
    const service = v.service
    if (vwc === undefined || service === undefined) throw new UsageError('--tls-secret needs --webhook-configuration NAME (whose caBundle is kept in step) and --service NAME (whose names the certificate covers)')
    const namespace = resolveNamespace(v.namespace, env, readFile)
    if (namespace === undefined) throw new UsageError('--tls-secret: no namespace; give --namespace NAME or set POD_NAMESPACE (the manifests set it from the downward API)')
    const validityMs = v.certValidity !== undefined ? parseDuration(v.certValidity, '--cert-validity') : DEFAULT_CERT_VALIDITY_MS
    if (validityMs < MIN_CERT_VALIDITY_MS) throw new UsageError(`--cert-validity must be at least ${MIN_CERT_VALIDITY_MS / 1000}s: a renewal needs time to publish its CA before it is served`)
    selfManaged = {
      secretName: checkName(secret, '--tls-secret'),
      webhookConfigurationName: checkName(vwc, '--webhook-configuration'),
      serviceName: checkName(service, '--service'),
      namespace: checkName(namespace, '--namespace'),
      validityMs,
    }
  } else {
    for (const [f, value] of [['webhook-configuration', v.webhookConfiguration], ['service', v.service], ['cert-validity', v.certValidity]] as const) {
      if (value !== undefined) throw new UsageError(`--${f} only applies with --tls-secret (self-managed certificates)`)
    }
    if (cert === undefined || key === undefined) {
      throw new UsageError('--tls-cert and --tls-key are required (certs/generate.sh makes a pair for development), unless --tls-secret asks for self-managed certificates')
    }
  }
  const level = v.logLevel ?? 'info'
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError(`--log-level: ${quote(level, 42)} is not one of ${LOG_LEVELS.join(', ')}`)
  const budgetMs = v.timeBudget !== undefined ? parseDuration(v.timeBudget, '--time-budget') : undefined
  if (budgetMs !== undefined && budgetMs < 1) throw new UsageError('--time-budget must be at least 1ms')
  const options: ServeConfig['options'] = {
    host: v.host ?? '127.0.0.1',
    port: v.port !== undefined ? parseInteger(v.port, '--port', 0, 65535) : 8443,
    reloadIntervalMs: v.reloadInterval !== undefined ? parseDuration(v.reloadInterval, '--reload-interval') : DEFAULT_RELOAD_INTERVAL_MS,
  }
  if (selfManaged !== undefined) options.selfManaged = selfManaged
  else if (cert !== undefined && key !== undefined) {
    options.tlsCert = cert
    options.tlsKey = key
  }
  if (v.policy !== undefined) options.policyFile = v.policy
  if (budgetMs !== undefined) options.budgetMs = budgetMs
  if (v.metricsPort !== undefined) {
    options.metricsPort = parseInteger(v.metricsPort, '--metrics-port', 0, 65535)
    if (options.metricsPort !== 0 && options.metricsPort === options.port) throw new UsageError(`--metrics-port ${options.metricsPort} is the webhook's --port; give another`)
  }
  if (v.shutdownTimeout !== undefined) {
    const ms = parseDuration(v.shutdownTimeout, '--shutdown-timeout')
    if (ms < 100) throw new UsageError('--shutdown-timeout must be at least 100ms: requests in flight need time to be answered')
    options.shutdownTimeoutMs = ms
  }
  if (v.requestTimeout !== undefined) {
    const ms = parseDuration(v.requestTimeout, '--request-timeout')
    if (ms < 100 || ms > 300_000) throw new UsageError('--request-timeout must be between 100ms and 5m')
    options.requestTimeoutMs = ms
  }
  if (v.maxWarnings !== undefined) options.maxWarnings = parseInteger(v.maxWarnings, '--max-warnings', 0, 100)
  if (v.cacheSize !== undefined) options.cacheEntries = parseInteger(v.cacheSize, '--cache-size', 0, 1_000_000)
  if (v.cluster === true) options.cluster = true
  if (v.http2 === true) options.http2 = true
  if (v.reviewLog !== undefined) {
    if (!(REVIEW_LOGS as readonly string[]).includes(v.reviewLog)) throw new UsageError(`--review-log: ${quote(v.reviewLog, 42)} is not one of ${REVIEW_LOGS.join(', ')}`)
    options.reviewLog = v.reviewLog as ReviewLog
  }
  if (v.companion === true) options.companion = true
  if (v.companionLogs === true) {
    if (v.companion !== true) throw new UsageError('--companion-logs goes with --companion')
    options.companionLogs = true
  }
  if (v.kubeconfig !== undefined) options.kubeconfig = v.kubeconfig
  if (v.context !== undefined) options.context = v.context
  const leaseFlags = v.leaseNamespace !== undefined || v.leaseDuration !== undefined
  if (leaseFlags && v.audit !== true && v.companion !== true) throw new UsageError('--lease-namespace and --lease-duration go with --audit or --companion')
  if (v.auditInterval !== undefined && v.audit !== true) throw new UsageError('--audit-interval goes with --audit')
  if (v.audit === true || v.companion === true) {
    const leaseNamespace = v.leaseNamespace ?? process.env['POD_NAMESPACE'] ?? 'pod-preflight'
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(leaseNamespace)) throw new UsageError(`--lease-namespace: ${quote(leaseNamespace)} is not a namespace name`)
    const lease: { leaseDurationMs?: number; retryPeriodMs?: number } = {}
    if (v.leaseDuration !== undefined) {
      const leaseDurationMs = parseDuration(v.leaseDuration, '--lease-duration')
      if (leaseDurationMs < 3000) throw new UsageError('--lease-duration must be at least 3s')
      lease.leaseDurationMs = leaseDurationMs
      lease.retryPeriodMs = Math.max(500, Math.round(leaseDurationMs / 7))
    }
    if (v.audit === true) {
      const intervalMs = v.auditInterval !== undefined ? parseDuration(v.auditInterval, '--audit-interval') : 60_000
      if (intervalMs < 1000) throw new UsageError('--audit-interval must be at least 1s')
      options.audit = { intervalMs, leaseNamespace, ...lease }
    }
    if (v.companion === true) options.companionLease = { namespace: leaseNamespace, ...lease }
  }
  return {
    options,
    workers: v.workers !== undefined ? parseInteger(v.workers, '--workers', 1, MAX_WORKERS) : 1,
    logLevel: level as LogLevel,
    shutdownDelayMs: v.shutdownDelay !== undefined ? parseDuration(v.shutdownDelay, '--shutdown-delay') : DEFAULT_SHUTDOWN_DELAY_MS,
  }
}

/** The kubeconfig loader's error (no kubeconfig found, a bad file, no such context), known by name: its module loads the Kubernetes client, which serve loads only when it needs the cluster. */
function isClusterError(err: unknown): err is Error {
  return err instanceof Error && err.name === 'ClusterError'
}

async function serve(config: ServeConfig, io: CliIO): Promise<number> {
  // Logs are JSON lines on stderr, written asynchronously by the logger itself when stderr is the
  // process's own (fd 2): the lines of a busy moment leave in one system call, not one per review.
  // A test's CliIO gets them through its own stream.
  const destination: DestinationStream | undefined = io.stderr === process.stderr || io.stderr.fd === 2 ? undefined : { write: (s: string) => void io.stderr.write(s) }
  const logger = createLogger(config.logLevel, destination)
  try {
    return await serveWith(config, logger)
  } finally {
    // Stopped (or not started): a last log line stuck on a stalled stderr must not keep the
    // process alive until the kubelet kills it.
    if (destination === undefined) exitAfterLastLines()
  }
}

async function serveWith(config: ServeConfig, logger: Logger): Promise<number> {
  if (config.workers > 1 && cluster.isWorker) return serveAsWorker(config, logger)
  let server: { drain(): void; close(): Promise<void> }
  try {
    if (config.workers > 1) {
      const { startPrimary } = await import('../../admission/workers.js')
      server = await startPrimary({ ...config.options, rules: RULES, logger, workers: config.workers })
    } else {
      server = await startServer({ ...config.options, rules: RULES, logger })
    }
  } catch (err) {
    if (err instanceof WorkerStartError) throw new UsageError(err.code === 'EADDRINUSE' || err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL' ? `cannot listen on ${config.options.host}:${config.options.port} (${err.code})` : err.message)
    if (err instanceof TlsFilesError || err instanceof PolicyError || err instanceof SeamError || err instanceof CertStartError || isClusterError(err)) throw new UsageError(err.message)
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new UsageError(`cannot listen on ${config.options.host}:${config.options.port} (${code})`)
    }
    throw err
  }
  const running = server

  return new Promise<number>((resolve) => {
    let stopping = false
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) return
      stopping = true
      logger.info({ signal, delayMs: config.shutdownDelayMs }, 'shutting down')
      running.drain()
      setTimeout(() => {
        running.close().then(
          () => {
            logger.info('stopped')
            process.off('SIGTERM', stop)
            process.off('SIGINT', stop)
            resolve(0)
          },
          (err: unknown) => {
            logger.error({ reason: err instanceof Error ? err.message : String(err) }, 'shutdown failed')
            resolve(1)
          },
        )
      }, config.shutdownDelayMs)
    }
    process.on('SIGTERM', stop)
    process.on('SIGINT', stop)
    handleInterruptInCommand()
  })
}

/**
 * A worker process of `serve --workers N`: the primary tells it when to close, so SIGTERM and
 * SIGINT (a terminal's Ctrl-C reaches the whole process group) are left to the primary.
 */
async function serveAsWorker(config: ServeConfig, logger: Logger): Promise<number> {
  const { runWorker } = await import('../../admission/workers.js')
  const ignore = (): void => undefined
  process.on('SIGTERM', ignore)
  process.on('SIGINT', ignore)
  handleInterruptInCommand()
  // The primary did the certificate work, and alone runs the audit scan and the companion.
  const { selfManaged: _sm, audit: _audit, companion: _companion, companionLease: _lease, ...rest } = config.options
  // Each line says which worker wrote it.
  const code = await runWorker({ ...rest, rules: RULES, logger: logger.child({ worker: process.pid }) })
  process.off('SIGTERM', ignore)
  process.off('SIGINT', ignore)
  // The channel to the primary would keep the process alive.
  if (process.connected) process.disconnect()
  return code
}
