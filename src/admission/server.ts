/**
 * The webhook server: reads the certificate, builds the app, listens, loads the policy (ready
 * from then on), and keeps certificate and policy fresh. `serve` parses flags and calls this.
 */
import { Server as TlsServer, type TLSSocket } from 'node:tls'
import type { AddressInfo, Socket } from 'node:net'
import { createServer, type Server as HttpServer } from 'node:http'
import type { Http2Session } from 'node:http2'
import type { Logger } from 'pino'
import type { PodRule } from '../engine/rule.js'
import { buildApp, connectionTimeouts, DEFAULT_REQUEST_TIMEOUT_MS, type AppDeps, type ClusterInputs, type NamespaceLabelSource, type ReadinessCheck, type ReviewLog, type WebhookApp } from './app.js'
import type { Policy } from '../policy/policy.js'
import { auditScanMetrics, createMetrics, PROMETHEUS_CONTENT_TYPE, type WebhookMetrics } from './metrics.js'
import { loadPolicy, PolicyStore, startPolicyReloader } from './policy-store.js'
import { builtinPolicyName } from '../policy/policy.js'
import { readTlsFiles, servingContext, startTlsReloader, TlsFilesError, type TlsMaterial } from './tls.js'
import type { CertManager } from '../certs/manager.js'
import type { KubeConfig } from '@kubernetes/client-node'
import type { FileWatch } from './file-watch.js'
import {
  checkLiveHandle,
  loadCompanion,
  loadKubeConfig,
  loadLiveClusterView,
  type CompanionHandle,
  type LiveClusterViewHandle,
  type StartCompanion,
  type StartLiveClusterView,
} from './seams.js'

export interface ServerOptions {
  host: string
  port: number
  /** Serving certificate and key files (file mode: cert-manager or a certificate you provide). */
  tlsCert?: string
  tlsKey?: string
  /** Self-managed certificates kept in a Secret (src/certs/manager.ts); instead of tlsCert/tlsKey. */
  selfManaged?: SelfManagedOptions
  /** How often certificate and policy files are checked for changes, in ms (0: never). */
  reloadIntervalMs?: number
  rules: readonly PodRule<unknown>[]
  /** A policy file; the shipped default policy when absent. */
  policyFile?: string
  logger: Logger
  budgetMs?: number
  maxWarnings?: number
  bodyLimit?: number
  /**
   * Serve GET /metrics on this port, plain HTTP on `host`, and not on the webhook port (as
   * Kyverno and Gatekeeper do): scrapers need no webhook certificate, and a NetworkPolicy can
   * admit the scraper to this port only.
   */
  metricsPort?: number
  /** Longest time a request may take to arrive, in ms (DEFAULT_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs?: number
  /**
   * close() waits this long for requests in flight, then destroys the connections left
   * (DEFAULT_SHUTDOWN_TIMEOUT_MS). Keep it, plus the shutdown delay, below the pod's
   * terminationGracePeriodSeconds.
   */
  shutdownTimeoutMs?: number
  /** Evaluations of identical objects to remember (0: none). */
  cacheEntries?: number
  /** Offer HTTP/2 (h2) in ALPN besides HTTP/1.1. */
  http2?: boolean
  /** Which reviews get a log line (default: all). */
  reviewLog?: ReviewLog
  /** Start the live cluster view (src/cluster/live.ts) for cluster-scoped rules. */
  cluster?: boolean
  /** Start the post-failure companion (src/analyzer/companion.ts). */
  companion?: boolean
  /** The companion also reads failed containers' previous logs (GET pods/log). */
  companionLogs?: boolean
  /** Run the background audit scan that writes PolicyReports (src/audit/scan.ts). */
  audit?: { intervalMs: number; leaseNamespace: string; leaseDurationMs?: number; retryPeriodMs?: number }
  /**
   * With several replicas, only the holder of this Lease runs the companion (so one records each
   * event); without it, every process runs its own.
   */
  companionLease?: { namespace: string; leaseDurationMs?: number; retryPeriodMs?: number }
  /** Kubeconfig for --cluster/--companion/--audit/--tls-secret; KUBECONFIG, in-cluster or ~/.kube/config when absent. */
  kubeconfig?: string
  /** A context of the kubeconfig instead of its current one. */
  context?: string
  /**
   * Run as one worker process of several (src/admission/workers.ts): certificate and policy come
   * from the primary process, which alone watches files, manages certificates, runs the audit
   * scan and the companion, and serves the metrics port.
   */
  worker?: WorkerLink
  /** Replace the seam loaders (tests). */
  seams?: { liveClusterView?: StartLiveClusterView; companion?: StartCompanion; namespaceLabels?: StartNamespaceLabels }
}

/** What a worker process gets from the primary (src/admission/workers.ts). */
export interface WorkerLink {
  /** The certificate to serve first. */
  tls: TlsMaterial
  /** Called with each certificate the primary loads later. */
  onTls(listener: (m: TlsMaterial) => void): void
  /** The policy in force, set by the primary's messages (already holding one). */
  store: PolicyStore
  /** /readyz and /metrics for the whole pod. */
  pod: NonNullable<AppDeps['pod']>
}

export interface SelfManagedOptions {
  /** The Secret holding CA and serving certificate, in `namespace`. */
  secretName: string
  /** The ValidatingWebhookConfiguration whose caBundle is kept in step. */
  webhookConfigurationName: string
  /** The Service the API server calls: the certificate covers its DNS names. */
  serviceName: string
  namespace: string
  validityMs: number
}

/** Starts the watch of namespace labels that policy bindings need. */
export type StartNamespaceLabels = (options: { kubeConfig: KubeConfig; logger: Logger }) => NamespaceLabelSource & { stop(): Promise<void> | void }

export interface RunningServer {
  app: WebhookApp
  port: number
  /** https://HOST:PORT */
  url: string
  /** http://HOST:PORT/metrics when metrics have a port of their own. */
  metricsUrl?: string
  metrics: WebhookMetrics
  /** Check the certificate and policy files now instead of waiting for the interval. */
  reloadNow(): Promise<void>
  /** /readyz answers 503 from now on (before a shutdown, so endpoints drop this replica first). */
  drain(): void
  close(): Promise<void>
}

export const DEFAULT_RELOAD_INTERVAL_MS = 10_000
/**
 * How long close() waits for open requests before destroying their connections. A review is
 * answered within the time budget (2.5 s) once it has arrived; 10 s plus the manifests' 5 s
 * shutdown delay stays well below their 30 s terminationGracePeriodSeconds, so the process exits
 * on its own, logged, before the kubelet's SIGKILL.
 */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000

export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const log = o.logger.child({ component: 'server' })
  const metrics = createMetrics()
  const interval = o.reloadIntervalMs ?? DEFAULT_RELOAD_INTERVAL_MS
  let certs: CertManager | undefined
  let tls: TlsMaterial
  if (o.worker !== undefined) tls = o.worker.tls
  else ({ tls, certs } = await startCertificates(o, metrics))
  const store = o.worker?.store ?? new PolicyStore()
  const readiness: ReadinessCheck[] = []
  const watches: FileWatch[] = []
  let draining = false
  readiness.push({ name: 'shutdown', ready: () => !draining })

  let live: LiveClusterViewHandle | undefined
  let background: { stop(): Promise<void> } | undefined
  // Namespace labels are watched while the policy in force has bindings, with or without --cluster.
  let namespaceLabels: (NamespaceLabelSource & { stop(): Promise<void> | void }) | undefined
  let namespaceSync = Promise.resolve()
  let closing = false
  const syncNamespaceWatch = (policy: Policy): void => {
    namespaceSync = namespaceSync.then(async () => {
      if (closing) return
      if (policy.bindings.length > 0 && namespaceLabels === undefined) {
        try {
          const start = o.seams?.namespaceLabels ?? (await import('../cluster/namespaces.js')).startNamespaceLabels
          const kubeConfig = await loadKubeConfig({ kubeconfig: o.kubeconfig, context: o.context })
          namespaceLabels = start({ kubeConfig, logger: o.logger.child({ component: 'namespaces' }) })
          log.info({ bindings: policy.bindings.map((b) => b.name) }, 'policy has bindings: watching namespace labels')
        } catch (err) {
          log.error(
            { reason: err instanceof Error ? err.message : String(err) },
            'policy has bindings but namespace labels cannot be watched (no usable kubeconfig); the policy mode applies everywhere',
          )
        }
      } else if (policy.bindings.length === 0 && namespaceLabels !== undefined) {
        const h = namespaceLabels
        namespaceLabels = undefined
        await h.stop()
        log.info('policy has no bindings any more: namespace labels no longer watched')
      }
    })
  }
  store.onChange(syncNamespaceWatch)
  // A worker's store holds the primary's policy already.
  const given = store.current()
  if (given !== undefined) syncNamespaceWatch(given)
  const stopExtras = async (): Promise<void> => {
    closing = true
    certs?.stop()
    for (const w of watches) w.stop()
    await namespaceSync
    await Promise.allSettled([live?.stop(), namespaceLabels?.stop(), background?.stop()])
  }

  let cluster: ClusterInputs | undefined
  try {
    if (o.cluster === true) {
      const start = o.seams?.liveClusterView ?? (await loadLiveClusterView())
      const kubeConfig = await loadKubeConfig({ kubeconfig: o.kubeconfig, context: o.context })
      live = checkLiveHandle(await start({ kubeConfig, logger: o.logger.child({ component: 'cluster' }) }))
      let synced = false
      live.ready.then(
        () => {
          synced = true
          log.info('cluster view synced')
        },
        (err: unknown) => log.error({ reason: err instanceof Error ? err.message : String(err) }, 'cluster view failed to sync; cluster rules stay skipped'),
      )
      // Ready once synced, and stays so while stale: the other rules still judge, and a webhook
      // with no endpoints would let every pod through unchecked. Staleness shows in the detail.
      const handle = live
      const check: ReadinessCheck = { name: 'cluster view', ready: () => synced }
      if (handle.detail !== undefined) check.detail = () => handle.detail?.()
      readiness.push(check)
      metrics.registry.onCollect(() => {
        metrics.clusterStateAge.clear()
        for (const s of handle.status?.() ?? []) if (s.unavailable === undefined) metrics.clusterStateAge.set({ resource: s.resource }, s.ageSeconds)
      })
      cluster = { view: live.view }
      if (live.related !== undefined) cluster.related = live.related
    }
  } catch (err) {
    await stopExtras()
    throw err
  }

  const deps: AppDeps = {
    rules: o.rules,
    // A worker's /readyz shows the primary's policy line (with a refused edit), not one per worker.
    policy: o.worker !== undefined ? { current: () => store.current() } : store,
    logger: o.logger,
    metrics,
    readiness,
    namespaces: { current: () => namespaceLabels },
    https: servingContext(tls),
  }
  if (cluster !== undefined) deps.cluster = cluster
  if (o.budgetMs !== undefined) deps.budgetMs = o.budgetMs
  if (o.maxWarnings !== undefined) deps.maxWarnings = o.maxWarnings
  if (o.bodyLimit !== undefined) deps.bodyLimit = o.bodyLimit
  if (o.requestTimeoutMs !== undefined) deps.requestTimeoutMs = o.requestTimeoutMs
  if (o.metricsPort !== undefined) deps.metricsRoute = false
  if (o.cacheEntries !== undefined) deps.cacheEntries = o.cacheEntries
  if (o.worker !== undefined) deps.pod = o.worker.pod
  if (o.http2 === true) deps.http2 = true
  if (o.reviewLog !== undefined) deps.reviewLog = o.reviewLog
  const app = await buildApp(deps)
  // Every socket, from the first byte (also those still in the TLS handshake, which Node's
  // closeAllConnections() does not know of), so that a shutdown can end them all.
  const sockets = new Set<Socket>()
  app.server.on('connection', (s: Socket) => {
    sockets.add(s)
    s.once('close', () => sockets.delete(s))
  })
  // HTTP/2 connections (--http2): close() sends each a GOAWAY, so that a client's idle
  // connection ends at once and streams in flight are answered (Node 20's server.close() leaves
  // sessions open, unlike HTTP/1.1's idle connections).
  const sessions = new Set<Http2Session>()
  app.server.on('session', (session: Http2Session) => {
    sessions.add(session)
    session.once('close', () => sessions.delete(session))
  })
  // Which protocol clients chose: the API server's admission client offers only http/1.1
  // (README: "HTTP/1.1 or HTTP/2"). Counted per connection, nothing per review.
  app.server.on('secureConnection', (s: TLSSocket) => {
    metrics.tlsConnections.inc({ protocol: typeof s.alpnProtocol === 'string' ? s.alpnProtocol : 'none' })
  })

  let metricsServer: HttpServer | undefined

  const shutdownTimeoutMs = o.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS
  let closed: Promise<void> | undefined
  const close = (): Promise<void> => {
    closed ??= (async () => {
      draining = true
      // Past the deadline, a client still holding a request open (or a stuck handshake) must not
      // keep the process alive until the kubelet kills it: its connection is destroyed.
      const deadline = setTimeout(() => {
        if (sockets.size > 0) log.warn({ connections: sockets.size, timeoutMs: shutdownTimeoutMs }, 'shutdown deadline reached; closing the connections left')
        for (const s of sockets) s.destroy()
      }, shutdownTimeoutMs)
      deadline.unref()
      try {
        await stopExtras()
        for (const session of sessions) session.close()
        await Promise.all([app.close(), metricsServer !== undefined ? closeMetrics(metricsServer) : undefined])
      } finally {
        clearTimeout(deadline)
      }
    })()
    return closed
  }

  try {
    await app.listen({ host: o.host, port: o.port })
    if (o.metricsPort !== undefined && o.worker === undefined) {
      metricsServer = await listenMetrics(o.host, o.metricsPort, () => metrics.registry.render(), deps.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS)
      metricsServer.on('connection', (s: Socket) => {
        sockets.add(s)
        s.once('close', () => sockets.delete(s))
      })
    }
    if (o.worker === undefined) {
      const policy = await loadPolicy(o.policyFile, o.rules)
      store.set(policy)
      log.info({ policy: policy.name, mode: policy.mode, bindings: policy.bindings.map((b) => b.name), source: policy.source, rules: o.rules.length }, 'policy loaded')
    }

    const server: unknown = app.server
    if (server instanceof TlsServer && o.worker !== undefined) {
      o.worker.onTls((m) => server.setSecureContext(servingContext(m)))
    } else if (server instanceof TlsServer) {
      const w = watchCertificates(o, { tls, certs }, server, metrics)
      if (w !== undefined) watches.push(w)
    }
    // A worker's primary process watches the policy file and runs audit and companion.
    if (o.worker === undefined) {
      // A shipped policy named builtin:NAME never changes while the process runs: nothing to watch.
      if (o.policyFile !== undefined && builtinPolicyName(o.policyFile) === undefined) {
        watches.push(await startPolicyReloader({ file: o.policyFile, rules: o.rules, store, intervalMs: interval, logger: o.logger, metrics }))
      }
      background = await startBackground(o, store, metrics)
    }
  } catch (err) {
    await close().catch(() => undefined)
    throw err
  }

  const address = app.server.address() as AddressInfo
  const host = o.host.includes(':') ? `[${o.host}]` : o.host
  const metricsAddress = metricsServer?.address() as AddressInfo | undefined
  log.info({ address: address.address, port: address.port, metricsPort: metricsAddress?.port }, 'listening')
  return {
    app,
    port: address.port,
    url: `https://${host}:${address.port}`,
    ...(metricsAddress !== undefined ? { metricsUrl: `http://${host}:${metricsAddress.port}/metrics` } : {}),
    metrics,
    reloadNow: async () => {
      await Promise.all(watches.map((w) => w.check()))
    },
    drain: () => {
      draining = true
    },
    close,
  }
}

/** The serving certificate at start: self-managed (the Secret, kept renewed) or read from the files. */
export async function startCertificates(o: ServerOptions, metrics: WebhookMetrics): Promise<{ tls: TlsMaterial; certs?: CertManager }> {
  const interval = o.reloadIntervalMs ?? DEFAULT_RELOAD_INTERVAL_MS
  if (o.selfManaged !== undefined) {
    const sm = o.selfManaged
    const { createCertManager, serviceHosts } = await import('../certs/manager.js')
    const { restCertApi } = await import('../certs/api.js')
    const { kubeRest } = await import('../kube/rest.js')
    const api = restCertApi(kubeRest(await loadKubeConfig({ kubeconfig: o.kubeconfig, context: o.context })), { namespace: sm.namespace, secretName: sm.secretName, webhookConfigurationName: sm.webhookConfigurationName })
    const certs = createCertManager({
      api,
      hosts: serviceHosts(sm.serviceName, sm.namespace),
      validityMs: sm.validityMs,
      // Replicas follow the Secret at least every 10 s, so every one serves a renewal long before the old certificate expires.
      syncIntervalMs: interval > 0 ? Math.min(interval, 10_000) : 10_000,
      logger: o.logger,
      onStep: (step) => metrics.certificateSteps.inc({ step }),
    })
    return { tls: await certs.start(), certs }
  }
  if (o.tlsCert === undefined || o.tlsKey === undefined) throw new TlsFilesError('give --tls-cert and --tls-key, or --tls-secret for self-managed certificates')
  return { tls: await readTlsFiles(o.tlsCert, o.tlsKey) }
}

/**
 * Keeps the served certificate fresh: each one the certificate manager loads, or each change of
 * the files, is handed to `server.setSecureContext` (the listening server, or the primary
 * process passing it on to its workers). Returns the watch to check and stop.
 */
export function watchCertificates(
  o: ServerOptions,
  source: { tls: TlsMaterial; certs?: CertManager | undefined },
  server: Pick<TlsServer, 'setSecureContext'>,
  metrics: WebhookMetrics,
): FileWatch | undefined {
  const certs = source.certs
  if (certs !== undefined) {
    const served = certs.served()
    if (served !== undefined) metrics.certificateExpiry.set({}, Math.floor(new Date(served.validTo).getTime() / 1000))
    certs.onCertificate((m, leaf) => {
      // New handshakes get the new certificate; open connections keep theirs.
      server.setSecureContext(servingContext(m))
      metrics.tlsReloads.inc({ result: 'ok' })
      metrics.certificateExpiry.set({}, Math.floor(new Date(leaf.validTo).getTime() / 1000))
    })
    return { check: () => certs.sync(), stop: () => certs.stop() }
  }
  if (o.tlsCert !== undefined && o.tlsKey !== undefined) {
    return startTlsReloader({ certPath: o.tlsCert, keyPath: o.tlsKey, initial: source.tls, server, intervalMs: o.reloadIntervalMs ?? DEFAULT_RELOAD_INTERVAL_MS, logger: o.logger, metrics })
  }
  return undefined
}

/**
 * What runs once per pod besides the webhook: the background audit scan (`--audit`) and the
 * companion (`--companion`), each behind its Lease. With --workers, the primary process runs it.
 */
export async function startBackground(o: ServerOptions, store: PolicyStore, metrics: WebhookMetrics): Promise<{ stop(): Promise<void> }> {
  const log = o.logger.child({ component: 'server' })
  let auditScan: { stop(): Promise<void> } | undefined
  let companion: CompanionHandle | undefined
  const stop = async (): Promise<void> => {
    await Promise.allSettled([companion?.stop(), auditScan?.stop()])
  }
  try {
    if (o.audit !== undefined) {
      const { startAuditScan } = await import('../audit/scan.js')
      const kubeConfig = await loadKubeConfig({ kubeconfig: o.kubeconfig, context: o.context })
      auditScan = startAuditScan({
        kubeConfig,
        rules: o.rules,
        policy: () => store.current(),
        logger: o.logger.child({ component: 'audit' }),
        intervalMs: o.audit.intervalMs,
        leaseNamespace: o.audit.leaseNamespace,
        ...(o.audit.leaseDurationMs !== undefined ? { leaseDurationMs: o.audit.leaseDurationMs, renewDeadlineMs: Math.round((o.audit.leaseDurationMs * 2) / 3) } : {}),
        ...(o.audit.retryPeriodMs !== undefined ? { retryPeriodMs: o.audit.retryPeriodMs } : {}),
        metrics: auditScanMetrics(metrics),
      })
    }

    if (o.companion === true) {
      const start = o.seams?.companion ?? (await loadCompanion())
      const kubeConfig = await loadKubeConfig({ kubeconfig: o.kubeconfig, context: o.context })
      const clog = o.logger.child({ component: 'companion' })
      const startOne = async (): Promise<CompanionHandle> => {
        const handle = await start({
          kubeConfig,
          logger: clog,
          onDiagnosis: (cause) => metrics.diagnoses.inc({ cause: cause.slice(0, 64) }),
          ...(o.companionLogs === true ? { readLogs: true } : {}),
        })
        handle.ready?.then(
          () => log.info('companion watching pods'),
          (err: unknown) => log.error({ reason: err instanceof Error ? err.message : String(err) }, 'companion failed to start'),
        )
        return handle
      }
      if (o.companionLease === undefined) {
        companion = await startOne()
      } else {
        // One replica records events: the companion runs only while this process holds the Lease.
        const { startLeaderElection } = await import('../audit/leader.js')
        let current: Promise<CompanionHandle | undefined> | undefined
        const stopCurrent = async (): Promise<void> => {
          const c = current
          current = undefined
          const h = await c
          await h?.stop()
        }
        const election = startLeaderElection({
          kubeConfig,
          namespace: o.companionLease.namespace,
          name: 'pod-preflight-companion',
          ...(o.companionLease.leaseDurationMs !== undefined ? { leaseDurationMs: o.companionLease.leaseDurationMs, renewDeadlineMs: Math.round((o.companionLease.leaseDurationMs * 2) / 3) } : {}),
          ...(o.companionLease.retryPeriodMs !== undefined ? { retryPeriodMs: o.companionLease.retryPeriodMs } : {}),
          logger: clog,
          onStartedLeading: () => {
            current = startOne().catch((err: unknown) => {
              log.error({ reason: err instanceof Error ? err.message : String(err) }, 'companion failed to start')
              return undefined
            })
          },
          onStoppedLeading: () => void stopCurrent(),
        })
        companion = {
          stop: async () => {
            await election.stop()
            await stopCurrent()
          },
        }
      }
    }
  } catch (err) {
    await stop()
    throw err
  }
  return { stop }
}

/** The metrics port: GET /metrics only, plain HTTP, with the webhook's request timeouts. */
export function listenMetrics(host: string, port: number, render: () => string | Promise<string>, requestTimeoutMs: number): Promise<HttpServer> {
  const { handshakeTimeout: _unused, ...timeouts } = connectionTimeouts(requestTimeoutMs)
  const server = createServer(timeouts, (req, res) => {
    const path = (req.url ?? '').split('?')[0]
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: this port serves GET /metrics only\n')
    } else if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end('method not allowed: GET /metrics\n')
    } else {
      Promise.resolve(render()).then(
        (text) => res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE }).end(req.method === 'HEAD' ? undefined : text),
        () => res.writeHead(503, { 'content-type': 'text/plain' }).end('metrics not available\n'),
      )
    }
  })
  server.requestTimeout = requestTimeoutMs
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve(server)
    })
  })
}

export function closeMetrics(server: HttpServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeIdleConnections()
  })
}
