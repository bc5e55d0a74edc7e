/**
 * The webhook server: reads the certificate, builds the app, listens, loads the policy (ready
 * from then on), and keeps certificate and policy fresh. `serve` parses flags and calls this.
 */
import { Server as TlsServer } from 'node:tls'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import type { PodRule } from '../engine/rule.js'
import { buildApp, type AppDeps, type ClusterInputs, type ReadinessCheck, type WebhookApp } from './app.js'
import { createMetrics, type WebhookMetrics } from './metrics.js'
import { loadPolicy, PolicyStore, startPolicyReloader } from './policy-store.js'
import { readTlsFiles, startTlsReloader } from './tls.js'
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
  tlsCert: string
  tlsKey: string
  /** How often certificate and policy files are checked for changes, in ms (0: never). */
  reloadIntervalMs?: number
  rules: readonly PodRule<unknown>[]
  /** A policy file; the shipped default policy when absent. */
  policyFile?: string
  logger: Logger
  budgetMs?: number
  maxWarnings?: number
  bodyLimit?: number
  /** Evaluations of identical objects to remember (0: none). */
  cacheEntries?: number
  /** Start the live cluster view (src/cluster/live.ts) for cluster-scoped rules. */
  cluster?: boolean
  /** Start the post-failure companion (src/analyzer/companion.ts). */
  companion?: boolean
  /** Run the background audit scan that writes PolicyReports (src/audit/scan.ts). */
  audit?: { intervalMs: number; leaseNamespace: string; leaseDurationMs?: number; retryPeriodMs?: number }
  /**
   * With several replicas, only the holder of this Lease runs the companion (so one records each
   * event); without it, every process runs its own.
   */
  companionLease?: { namespace: string; leaseDurationMs?: number; retryPeriodMs?: number }
  /** Kubeconfig for --cluster/--companion; KUBECONFIG, ~/.kube/config or in-cluster when absent. */
  kubeconfig?: string
  /** Replace the seam loaders (tests). */
  seams?: { liveClusterView?: StartLiveClusterView; companion?: StartCompanion }
}

export interface RunningServer {
  app: WebhookApp
  port: number
  /** https://HOST:PORT */
  url: string
  metrics: WebhookMetrics
  /** Check the certificate and policy files now instead of waiting for the interval. */
  reloadNow(): Promise<void>
  /** /readyz answers 503 from now on (before a shutdown, so endpoints drop this replica first). */
  drain(): void
  close(): Promise<void>
}

export const DEFAULT_RELOAD_INTERVAL_MS = 10_000

export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const log = o.logger.child({ component: 'server' })
  const tls = await readTlsFiles(o.tlsCert, o.tlsKey)
  const metrics = createMetrics()
  const store = new PolicyStore()
  const readiness: ReadinessCheck[] = []
  const watches: FileWatch[] = []
  let draining = false
  readiness.push({ name: 'shutdown', ready: () => !draining })

  let live: LiveClusterViewHandle | undefined
  let companion: CompanionHandle | undefined
  let auditScan: { stop(): Promise<void> } | undefined
  const stopExtras = async (): Promise<void> => {
    for (const w of watches) w.stop()
    await Promise.allSettled([live?.stop(), companion?.stop(), auditScan?.stop()])
  }

  let cluster: ClusterInputs | undefined
  try {
    if (o.cluster === true) {
      const start = o.seams?.liveClusterView ?? (await loadLiveClusterView())
      const kubeConfig = await loadKubeConfig(o.kubeconfig)
      live = checkLiveHandle(await start({ kubeConfig, logger: o.logger.child({ component: 'cluster' }) }))
      let synced = false
      live.ready.then(
        () => {
          synced = true
          log.info('cluster view synced')
        },
        (err: unknown) => log.error({ reason: err instanceof Error ? err.message : String(err) }, 'cluster view failed to sync; cluster rules stay skipped'),
      )
      readiness.push({ name: 'cluster view', ready: () => synced })
      cluster = { view: live.view }
      if (live.related !== undefined) cluster.related = live.related
    }
  } catch (err) {
    await stopExtras()
    throw err
  }

  const deps: AppDeps = {
    rules: o.rules,
    policy: store,
    logger: o.logger,
    metrics,
    readiness,
    https: { cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' },
  }
  if (cluster !== undefined) deps.cluster = cluster
  if (o.budgetMs !== undefined) deps.budgetMs = o.budgetMs
  if (o.maxWarnings !== undefined) deps.maxWarnings = o.maxWarnings
  if (o.bodyLimit !== undefined) deps.bodyLimit = o.bodyLimit
  if (o.cacheEntries !== undefined) deps.cacheEntries = o.cacheEntries
  const app = await buildApp(deps)

  const close = async (): Promise<void> => {
    draining = true
    await stopExtras()
    await app.close()
  }

  try {
    await app.listen({ host: o.host, port: o.port })
    const policy = await loadPolicy(o.policyFile, o.rules)
    store.set(policy)
    log.info({ policy: policy.name, source: policy.source, rules: o.rules.length }, 'policy loaded')

    const interval = o.reloadIntervalMs ?? DEFAULT_RELOAD_INTERVAL_MS
    const server: unknown = app.server
    if (server instanceof TlsServer) {
      watches.push(startTlsReloader({ certPath: o.tlsCert, keyPath: o.tlsKey, initial: tls, server, intervalMs: interval, logger: o.logger, metrics }))
    }
    if (o.policyFile !== undefined) {
      watches.push(await startPolicyReloader({ file: o.policyFile, rules: o.rules, store, intervalMs: interval, logger: o.logger, metrics }))
    }

    if (o.audit !== undefined) {
      const { startAuditScan } = await import('../audit/scan.js')
      const kubeConfig = await loadKubeConfig(o.kubeconfig)
      auditScan = startAuditScan({
        kubeConfig,
        rules: o.rules,
        policy: () => store.current(),
        logger: o.logger.child({ component: 'audit' }),
        intervalMs: o.audit.intervalMs,
        leaseNamespace: o.audit.leaseNamespace,
        ...(o.audit.leaseDurationMs !== undefined ? { leaseDurationMs: o.audit.leaseDurationMs, renewDeadlineMs: Math.round((o.audit.leaseDurationMs * 2) / 3) } : {}),
        ...(o.audit.retryPeriodMs !== undefined ? { retryPeriodMs: o.audit.retryPeriodMs } : {}),
        metrics: {
          setFindings: (rows) => {
            metrics.auditFindings.clear()
            for (const r of rows) metrics.auditFindings.set({ rule: r.rule, namespace: r.namespace, action: r.action }, r.count)
          },
          setLeader: (l) => metrics.auditLeader.set({}, l ? 1 : 0),
          countWrite: (result) => metrics.auditWrites.inc({ result }),
        },
      })
    }

    if (o.companion === true) {
      const start = o.seams?.companion ?? (await loadCompanion())
      const kubeConfig = await loadKubeConfig(o.kubeconfig)
      const clog = o.logger.child({ component: 'companion' })
      const startOne = async (): Promise<CompanionHandle> => {
        const handle = await start({
          kubeConfig,
          logger: clog,
          onDiagnosis: (cause) => metrics.diagnoses.inc({ cause: cause.slice(0, 64) }),
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
    await close().catch(() => undefined)
    throw err
  }

  const address = app.server.address() as AddressInfo
  const host = o.host.includes(':') ? `[${o.host}]` : o.host
  log.info({ address: address.address, port: address.port }, 'listening')
  return {
    app,
    port: address.port,
    url: `https://${host}:${address.port}`,
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
