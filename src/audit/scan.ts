/**
 * The background scan of `serve --audit`: the replica that holds the Lease audits the cluster
 * every interval (and at once when it becomes the leader), turns the audit into one
 * PolicyReport per namespace and a ClusterPolicyReport summary, and writes with server-side
 * apply only the reports whose content changed (digest of summary and results; never a
 * delete-and-recreate). A namespace that had a report and has no workload left gets an empty
 * one. Findings are exported as gauges by rule, namespace and action by the writer only: a
 * replica that does not hold the Lease exports none, and one that loses it drops its own, so
 * that summing the gauges over replicas counts each finding once.
 *
 * Each scan lists the workloads, pods, events and cluster state afresh (paged lists, Secrets as
 * metadata), so it needs no cache between scans; the interval bounds how stale a report is.
 *
 * RBAC: list on the workload kinds, pods, events and the cluster view's kinds; get, list,
 * create and patch on policyreports and clusterpolicyreports; leases get, create, update.
 */
import type { KubeConfig } from '@kubernetes/client-node'
import type { PodRule } from '../engine/rule.js'
import type { Policy } from '../policy/policy.js'
import { runAudit } from './audit.js'
import { kubeRest, statusMessage, type KubeRest } from '../kube/rest.js'
import { startLeaderElection, type LeaderElection, type LeaderElectionOptions } from './leader.js'
import { emptyReport, MANAGED_BY, MANAGED_BY_LABEL, REPORT_API_VERSION, REPORT_NAME, reportDigest, toPolicyReports, type PolicyReport } from './policy-report.js'
import { readLiveCluster, type AuditInput } from './sources.js'

export interface ScanLogger {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

export interface ScanMetrics {
  /**
   * Called after each scan with the findings by rule, namespace and action (replacing the last),
   * only while this replica is the writer; called with no rows when it stops being the writer,
   * so that a replica that does not write the reports exports no findings either.
   */
  setFindings(rows: { rule: string; namespace: string; action: string; count: number }[]): void
  setLeader(leader: boolean): void
  countWrite(result: 'ok' | 'error'): void
}

export interface AuditScanOptions {
  kubeConfig: KubeConfig
  rules: readonly PodRule<unknown>[]
  /** The policy in force (reloaded with the webhook's). */
  policy: () => Policy | undefined
  logger: ScanLogger
  metrics?: ScanMetrics
  intervalMs: number
  leaseNamespace: string
  leaseName?: string
  leaseDurationMs?: number
  renewDeadlineMs?: number
  retryPeriodMs?: number
  identity?: string
  /** For tests: the API client, the leader election and the cluster read, in place of the real ones. */
  seams?: {
    rest?: KubeRest
    election?: (o: LeaderElectionOptions) => LeaderElection
    read?: () => Promise<AuditInput>
  }
}

export interface AuditScan {
  isLeader(): boolean
  readonly identity: string
  /** Stops scanning and releases the Lease; `{ release: false }` leaves it to expire, as a crash would. */
  stop(options?: { release?: boolean }): Promise<void>
}

const FIELD_MANAGER = 'pod-preflight'
/** The list of every namespace's report read when a replica becomes the leader. */
const MAX_REPORT_LIST_BYTES = 64 * 1024 * 1024

function reportPath(r: PolicyReport): string {
  const base = `/apis/${REPORT_API_VERSION}`
  return r.kind === 'ClusterPolicyReport'
    ? `${base}/clusterpolicyreports/${REPORT_NAME}`
    : `${base}/namespaces/${encodeURIComponent(r.metadata.namespace ?? '')}/policyreports/${REPORT_NAME}`
}

export function startAuditScan(o: AuditScanOptions): AuditScan {
  const log = o.logger
  const rest = o.seams?.rest ?? kubeRest(o.kubeConfig)
  const read = o.seams?.read ?? (() => readLiveCluster({ kubeConfig: o.kubeConfig }))
  /** Digest of what we last wrote (or found), by `NS` ('' for the cluster report). */
  let written = new Map<string, string>()
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined
  let stopped = false
  let leading = false

  const apply = async (key: string, r: PolicyReport): Promise<void> => {
    const digest = reportDigest(r)
    if (written.get(key) === digest) return
    const res = await rest.request({ method: 'PATCH', path: `${reportPath(r)}?fieldManager=${FIELD_MANAGER}&force=true`, body: r, contentType: 'application/apply-patch+yaml' })
    if (res.status !== 200 && res.status !== 201) {
      o.metrics?.countWrite('error')
      throw new Error(`cannot write ${r.kind} ${r.metadata.namespace !== undefined ? `${r.metadata.namespace}/` : ''}${REPORT_NAME}: ${statusMessage(res)}`)
    }
    o.metrics?.countWrite('ok')
    written.set(key, digest)
    log.info({ report: r.kind, namespace: r.metadata.namespace, pass: r.summary.pass, warn: r.summary.warn, fail: r.summary.fail }, 'policy report written')
  }

  /** What is already there, so that a new leader does not rewrite identical reports. */
  const seed = async (): Promise<void> => {
    const seen = new Map<string, string>()
    const selector = `labelSelector=${encodeURIComponent(`${MANAGED_BY_LABEL}=${MANAGED_BY}`)}`
    const ns = await rest.request({ method: 'GET', path: `/apis/${REPORT_API_VERSION}/policyreports?${selector}`, maxBytes: MAX_REPORT_LIST_BYTES })
    if (ns.status === 200 && typeof ns.body === 'object' && ns.body !== null && Array.isArray((ns.body as { items?: unknown }).items)) {
      for (const item of (ns.body as { items: { metadata?: { name?: string; namespace?: string } }[] }).items) {
        if (item.metadata?.name === REPORT_NAME && item.metadata.namespace !== undefined) seen.set(item.metadata.namespace, reportDigest(item))
      }
    } else if (ns.status !== 200) throw new Error(`cannot list PolicyReports: ${statusMessage(ns)} (is the CRD installed? manifests/audit/)`)
    const cluster = await rest.request({ method: 'GET', path: `/apis/${REPORT_API_VERSION}/clusterpolicyreports/${REPORT_NAME}` })
    if (cluster.status === 200 && typeof cluster.body === 'object' && cluster.body !== null) seen.set('', reportDigest(cluster.body))
    written = seen
  }

  const scan = async (): Promise<void> => {
    const policy = o.policy()
    if (policy === undefined) return
    const started = Date.now()
    const input = await read()
    const audit = runAudit(input.objects, { policy, rules: o.rules, cluster: input.view, events: input.events, source: input.source })
    const set = toPolicyReports(audit, { rules: o.rules, policy, clusterSynced: input.view.synced })
    for (const [ns, r] of set.namespaced) {
      if (!leading || stopped) return
      await apply(ns, r)
    }
    for (const ns of [...written.keys()]) {
      if (ns !== '' && !set.namespaced.has(ns) && leading && !stopped) await apply(ns, emptyReport(ns))
    }
    if (leading && !stopped) await apply('', set.cluster)
    const rows: { rule: string; namespace: string; action: string; count: number }[] = []
    const counts = new Map<string, number>()
    for (const w of audit.workloads) {
      for (const f of w.findings) {
        const k = `${f.rule}\u0000${w.object.namespace ?? ''}\u0000${f.action}`
        counts.set(k, (counts.get(k) ?? 0) + 1)
      }
    }
    for (const [k, count] of counts) {
      const [rule = '', namespace = '', action = ''] = k.split('\u0000')
      rows.push({ rule, namespace, action, count })
    }
    // Leadership may have gone while the last report was written: the findings are the writer's to export.
    if (!leading || stopped) return
    o.metrics?.setFindings(rows)
    log.info({ workloads: audit.summary.workloads, namespaces: audit.summary.namespaces, ms: Date.now() - started }, 'audit scan done')
  }

  const loop = (): void => {
    if (stopped || !leading) return
    running = (async () => {
      try {
        if (written.size === 0) await seed()
        await scan()
      } catch (err) {
        log.warn({ err: err instanceof Error ? err.message : String(err) }, 'audit scan failed; retrying at the next interval')
      }
    })()
    void running.then(() => {
      running = undefined
      if (!stopped && leading) timer = setTimeout(loop, o.intervalMs)
    })
  }

  const election: LeaderElection = (o.seams?.election ?? startLeaderElection)({
    kubeConfig: o.kubeConfig,
    namespace: o.leaseNamespace,
    name: o.leaseName ?? 'pod-preflight-audit',
    ...(o.identity !== undefined ? { identity: o.identity } : {}),
    ...(o.leaseDurationMs !== undefined ? { leaseDurationMs: o.leaseDurationMs } : {}),
    ...(o.renewDeadlineMs !== undefined ? { renewDeadlineMs: o.renewDeadlineMs } : {}),
    ...(o.retryPeriodMs !== undefined ? { retryPeriodMs: o.retryPeriodMs } : {}),
    logger: log,
    onStartedLeading: () => {
      leading = true
      written = new Map()
      o.metrics?.setLeader(true)
      if (running === undefined) loop()
    },
    onStoppedLeading: () => {
      leading = false
      o.metrics?.setLeader(false)
      o.metrics?.setFindings([])
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
    },
  })

  return {
    identity: election.identity,
    isLeader: () => election.isLeader(),
    async stop(options = {}) {
      stopped = true
      if (timer !== undefined) clearTimeout(timer)
      await running
      await election.stop(options)
    },
  }
}
