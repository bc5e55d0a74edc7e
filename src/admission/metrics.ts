/**
 * A small Prometheus registry: counters, gauges and histograms with labels, rendered in the
 * text exposition format 0.0.4. Small on purpose: the webhook needs a handful of series, and
 * recording one must cost a Map lookup, not an allocation-heavy client library.
 */
import { memoryUsage, cpuUsage } from 'node:process'
import type { ScanMetrics } from '../audit/scan.js'
import { droppedLogLines, LOG_BUFFER_BYTES } from './log-drops.js'

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

type Labels<N extends string> = Readonly<Record<N, string>>

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  return String(v)
}

interface Metric {
  render(): string
  snapshot(): MetricSnapshot
}

/**
 * How the series of one gauge combine across the processes of one pod (serve --workers): summed
 * (memory, cache lookups), or the lowest (ready: 1 only when every process is) or the highest
 * (the age of the cluster state). Counters and histograms are always summed.
 */
export type GaugeMerge = 'sum' | 'min' | 'max'

/** One metric's state, plain data (sent between the processes of serve --workers). */
export type MetricSnapshot =
  | { type: 'counter'; name: string; help: string; series: [labels: string, value: number][] }
  | { type: 'gauge'; name: string; help: string; merge: GaugeMerge; series: [labels: string, value: number][] }
  | { type: 'histogram'; name: string; help: string; buckets: number[]; series: [labels: string, counts: number[], sum: number, count: number][] }

export type RegistrySnapshot = MetricSnapshot[]

abstract class Labelled<N extends string, S> implements Metric {
  protected readonly series = new Map<string, { labels: string; value: S }>()
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly N[],
  ) {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`bad metric name ${name}`)
  }

  protected abstract initial(): S
  abstract render(): string
  abstract snapshot(): MetricSnapshot

  protected get(labels: Labels<N>): S {
    // The key is the label values in declared order; the rendered label text is kept with it.
    let key = ''
    for (const n of this.labelNames) key += `${labels[n]}\u0000`
    let s = this.series.get(key)
    if (s === undefined) {
      const text = this.labelNames.map((n) => `${n}="${escapeLabel(labels[n])}"`).join(',')
      s = { labels: text, value: this.initial() }
      this.series.set(key, s)
    }
    return s.value
  }

  protected header(type: string): string {
    return `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${type}\n`
  }
}

export class Counter<N extends string = never> extends Labelled<N, { v: number }> {
  protected initial(): { v: number } {
    return { v: 0 }
  }
  inc(labels: Labels<N>, by = 1): void {
    this.get(labels).v += by
  }
  /** Makes a series exist (at 0) before anything is counted, so rates start from a known point. */
  touch(labels: Labels<N>): void {
    this.get(labels)
  }
  value(labels: Labels<N>): number {
    return this.get(labels).v
  }
  snapshot(): MetricSnapshot {
    return { type: 'counter', name: this.name, help: this.help, series: [...this.series.values()].map((s) => [s.labels, s.value.v]) }
  }
  render(): string {
    let out = this.header('counter')
    for (const { labels, value } of this.series.values()) out += `${this.name}${labels === '' ? '' : `{${labels}}`} ${formatValue(value.v)}\n`
    return out
  }
}

export class Gauge<N extends string = never> extends Labelled<N, { v: number }> {
  merge: GaugeMerge = 'sum'
  protected initial(): { v: number } {
    return { v: 0 }
  }
  set(labels: Labels<N>, v: number): void {
    this.get(labels).v = v
  }
  /** Drops every series (before setting a new full set, so that series that went away disappear). */
  clear(): void {
    this.series.clear()
  }
  snapshot(): MetricSnapshot {
    return { type: 'gauge', name: this.name, help: this.help, merge: this.merge, series: [...this.series.values()].map((s) => [s.labels, s.value.v]) }
  }
  render(): string {
    let out = this.header('gauge')
    for (const { labels, value } of this.series.values()) out += `${this.name}${labels === '' ? '' : `{${labels}}`} ${formatValue(value.v)}\n`
    return out
  }
}

interface HistogramState {
  counts: number[]
  sum: number
  count: number
}

export class Histogram<N extends string = never> extends Labelled<N, HistogramState> {
  constructor(
    name: string,
    help: string,
    labelNames: readonly N[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames)
  }
  protected initial(): HistogramState {
    return { counts: this.buckets.map(() => 0), sum: 0, count: 0 }
  }
  observe(labels: Labels<N>, v: number): void {
    const s = this.get(labels)
    s.sum += v
    s.count++
    // Counts are per bucket here and made cumulative when rendered.
    const b = this.buckets
    for (let i = 0; i < b.length; i++) {
      if (v <= (b[i] ?? Infinity)) {
        s.counts[i] = (s.counts[i] ?? 0) + 1
        return
      }
    }
  }
  snapshot(): MetricSnapshot {
    return {
      type: 'histogram',
      name: this.name,
      help: this.help,
      buckets: [...this.buckets],
      series: [...this.series.values()].map((s) => [s.labels, [...s.value.counts], s.value.sum, s.value.count]),
    }
  }
  render(): string {
    let out = this.header('histogram')
    for (const { labels, value } of this.series.values()) {
      const prefix = labels === '' ? '' : `${labels},`
      let cumulative = 0
      this.buckets.forEach((le, i) => {
        cumulative += value.counts[i] ?? 0
        out += `${this.name}_bucket{${prefix}le="${formatValue(le)}"} ${cumulative}\n`
      })
      out += `${this.name}_bucket{${prefix}le="+Inf"} ${value.count}\n`
      out += `${this.name}_sum${labels === '' ? '' : `{${labels}}`} ${formatValue(value.sum)}\n`
      out += `${this.name}_count${labels === '' ? '' : `{${labels}}`} ${value.count}\n`
    }
    return out
  }
}

export class Registry {
  private readonly metrics: Metric[] = []
  private readonly collectors: (() => void)[] = []

  counter<N extends string = never>(name: string, help: string, labelNames: readonly N[] = []): Counter<N> {
    return this.add(new Counter<N>(name, help, labelNames))
  }
  gauge<N extends string = never>(name: string, help: string, labelNames: readonly N[] = [], merge: GaugeMerge = 'sum'): Gauge<N> {
    const g = new Gauge<N>(name, help, labelNames)
    g.merge = merge
    return this.add(g)
  }
  histogram<N extends string = never>(name: string, help: string, labelNames: readonly N[], buckets: readonly number[]): Histogram<N> {
    return this.add(new Histogram<N>(name, help, labelNames, buckets))
  }
  /** Runs before each scrape, to refresh gauges that are read rather than recorded. */
  onCollect(fn: () => void): void {
    this.collectors.push(fn)
  }
  render(): string {
    for (const c of this.collectors) c()
    return this.metrics.map((m) => m.render()).join('')
  }
  /** The state of every metric after the collectors ran, as plain data. */
  snapshot(): RegistrySnapshot {
    for (const c of this.collectors) c()
    return this.metrics.map((m) => m.snapshot())
  }
  private add<M extends Metric>(m: M): M {
    this.metrics.push(m)
    return m
  }
}

/** The kinds the webhook is registered for; anything else is counted as "other" to bound the series. */
const KNOWN_KINDS = new Set(['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job', 'CronJob'])
const KNOWN_OPERATIONS = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT'])

/** `skipped_owned`: made by a workload controller and, under the policy's `ownedObjects: skip`, allowed without judging. */
export type ReviewVerdict = 'allowed' | 'warned' | 'would_deny' | 'denied' | 'unjudged' | 'over_budget' | 'not_applicable' | 'skipped_owned'

/** Every series the webhook exposes. */
export interface WebhookMetrics {
  registry: Registry
  reviews: Counter<'kind' | 'operation' | 'verdict'>
  findings: Counter<'rule' | 'action'>
  wouldDeny: Counter<'rule'>
  skips: Counter<'rule' | 'by'>
  skipsRefused: Counter<never>
  namespaceLabelsUnknown: Counter<never>
  duration: Histogram<never>
  budgetExceeded: Counter<never>
  badRequests: Counter<'code'>
  clientAborts: Counter<never>
  ready: Gauge<never>
  policyReloads: Counter<'result'>
  policyLastReloadOk: Gauge<never>
  policyLastReloadTime: Gauge<never>
  tlsReloads: Counter<'result'>
  tlsConnections: Counter<'protocol'>
  certificateExpiry: Gauge<never>
  certificateSteps: Counter<'step'>
  diagnoses: Counter<'cause'>
  cacheLookups: Gauge<'result'>
  auditFindings: Gauge<'rule' | 'namespace' | 'action'>
  auditLeader: Gauge<never>
  auditWrites: Counter<'result'>
  clusterStateAge: Gauge<'resource'>
  countReview(kind: string, operation: string, verdict: ReviewVerdict): void
}

export function createMetrics(): WebhookMetrics {
  const registry = new Registry()
  const started = Date.now() / 1000
  const reviews = registry.counter('pod_preflight_admission_reviews_total', 'AdmissionReviews answered, by object kind, operation and verdict.', ['kind', 'operation', 'verdict'])
  const findings = registry.counter('pod_preflight_admission_findings_total', 'Findings reported in AdmissionReviews, by rule and the action taken.', ['rule', 'action'])
  const wouldDeny = registry.counter('pod_preflight_admission_would_deny_total', 'Findings that would have denied but were answered as warnings in audit mode, by rule.', ['rule'])
  const skips = registry.counter('pod_preflight_admission_skips_total', 'Rules not run on a reviewed object, by rule and by what skipped them (annotation or exemption).', ['rule', 'by'])
  const skipsRefused = registry.counter('pod_preflight_admission_skip_refused_total', 'Reviewed objects whose pod-preflight/skip annotation the policy did not honour in their namespace.')
  const namespaceLabelsUnknown = registry.counter(
    'pod_preflight_admission_namespace_labels_unknown_total',
    'Reviews under a policy with bindings where the namespace labels could not be learnt, so the policy mode applied.',
  )
  const duration = registry.histogram(
    'pod_preflight_admission_review_duration_seconds',
    'Time from receiving an AdmissionReview to answering it.',
    [],
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  )
  const budgetExceeded = registry.counter('pod_preflight_admission_budget_exceeded_total', 'Reviews answered allowed because evaluation ran over the time budget.')
  const badRequests = registry.counter('pod_preflight_admission_bad_requests_total', 'Requests to /validate refused as malformed, by error code.', ['code'])
  const clientAborts = registry.counter('pod_preflight_admission_client_aborts_total', 'Requests to /validate the client closed before sending the whole body (not counted as bad requests).')
  const ready = registry.gauge('pod_preflight_ready', '1 when the webhook is ready to judge (policy loaded, cluster view synced when enabled).', [], 'min')
  const policyReloads = registry.counter('pod_preflight_policy_reloads_total', 'Policy file reloads, by result.', ['result'])
  const policyLastReloadOk = registry.gauge('pod_preflight_policy_last_reload_successful', '1 when the last change of the policy file was loaded; 0 when it was refused and the previous policy stays in force.', [], 'min')
  const policyLastReloadTime = registry.gauge('pod_preflight_policy_last_reload_timestamp_seconds', 'When the policy file was last read after a change, loaded or refused (Unix time).', [], 'max')
  const tlsReloads = registry.counter('pod_preflight_tls_reloads_total', 'Serving certificate reloads, by result.', ['result'])
  const certificateExpiry = registry.gauge('pod_preflight_tls_certificate_expiry_timestamp_seconds', 'When the serving certificate in use expires (Unix time).', [], 'min')
  const tlsConnections = registry.counter(
    'pod_preflight_tls_connections_total',
    'TLS connections accepted on the webhook port, by the application protocol the client chose in ALPN (http/1.1, h2, or none when it offered none).',
    ['protocol'],
  )
  const certificateSteps = registry.counter(
    'pod_preflight_certificate_steps_total',
    'Self-managed certificate steps taken by this replica (created, staged, switched, dropped, replaced, ca_bundle, error).',
    ['step'],
  )
  const diagnoses = registry.counter('pod_preflight_companion_diagnoses_total', 'Failed pods explained by the post-failure companion, by cause.', ['cause'])
  const cacheLookups = registry.gauge('pod_preflight_admission_cache_lookups', 'Lookups in the evaluation cache of the policy in force, by result (reset when the policy is reloaded).', ['result'])
  const auditFindings = registry.gauge('pod_preflight_audit_findings', 'Findings of the last background audit scan (serve --audit), by rule, namespace and action.', ['rule', 'namespace', 'action'])
  const auditLeader = registry.gauge('pod_preflight_audit_leader', '1 while this replica holds the audit Lease and writes the policy reports.', [], 'max')
  const auditWrites = registry.counter('pod_preflight_audit_report_writes_total', 'PolicyReport and ClusterPolicyReport writes (server-side apply), by result.', ['result'])
  const clusterStateAge = registry.gauge(
    'pod_preflight_cluster_state_age_seconds',
    'How old the cluster view\'s state of a resource may be (serve --cluster): 0 while its watch is open, else seconds since its list/watch broke; absent for a resource refused or not served.',
    ['resource'],
    'max',
  )
  const startTime = registry.gauge('process_start_time_seconds', 'Start time of the process since the Unix epoch in seconds.', [], 'min')
  const rss = registry.gauge('process_resident_memory_bytes', 'Resident memory size in bytes.')
  const heap = registry.gauge('nodejs_heap_used_bytes', 'V8 heap in use, in bytes.')
  const cpu = registry.counter('process_cpu_seconds_total', 'User and system CPU time spent in seconds.')
  const logDrops = registry.counter('pod_preflight_log_lines_dropped_total', `Log lines dropped because stderr took none while ${LOG_BUFFER_BYTES / (1 << 20)} MiB of them waited (a stalled log collector).`)
  for (const r of ['ok', 'error']) {
    policyReloads.touch({ result: r })
    tlsReloads.touch({ result: r })
  }
  budgetExceeded.touch({})
  skipsRefused.touch({})
  namespaceLabelsUnknown.touch({})
  policyLastReloadOk.set({}, 1)
  registry.onCollect(() => {
    startTime.set({}, started)
    const m = memoryUsage()
    rss.set({}, m.rss)
    heap.set({}, m.heapUsed)
    const c = cpuUsage()
    const total = (c.user + c.system) / 1e6
    cpu.inc({}, total - cpu.value({}))
    logDrops.inc({}, droppedLogLines() - logDrops.value({}))
  })
  return {
    registry,
    reviews,
    findings,
    wouldDeny,
    skips,
    skipsRefused,
    namespaceLabelsUnknown,
    duration,
    budgetExceeded,
    badRequests,
    clientAborts,
    ready,
    policyReloads,
    policyLastReloadOk,
    policyLastReloadTime,
    tlsReloads,
    tlsConnections,
    certificateExpiry,
    certificateSteps,
    diagnoses,
    cacheLookups,
    auditFindings,
    auditLeader,
    auditWrites,
    clusterStateAge,
    countReview(kind, operation, verdict) {
      reviews.inc({ kind: KNOWN_KINDS.has(kind) ? kind : 'other', operation: KNOWN_OPERATIONS.has(operation) ? operation : 'other', verdict })
    },
  }
}

/**
 * The background audit scan's metrics. The findings gauges belong to the writer: they are set
 * only while this replica holds the audit Lease and dropped when it loses it, so that a replica
 * that does not write the PolicyReports exports no findings (a dashboard summing over replicas
 * counts each finding once, and a former leader does not go on exporting a stale scan).
 */
export function auditScanMetrics(m: Pick<WebhookMetrics, 'auditFindings' | 'auditLeader' | 'auditWrites'>): ScanMetrics {
  let leader = false
  return {
    setFindings(rows) {
      m.auditFindings.clear()
      if (!leader) return
      for (const r of rows) m.auditFindings.set({ rule: r.rule, namespace: r.namespace, action: r.action }, r.count)
    },
    setLeader(l) {
      leader = l
      m.auditLeader.set({}, l ? 1 : 0)
      if (!l) m.auditFindings.clear()
    },
    countWrite(result) {
      m.auditWrites.inc({ result })
    },
  }
}

/**
 * Several processes' snapshots as one (serve --workers: the primary's and each worker's):
 * counters and histogram buckets, sums and counts added series by series, gauges combined as
 * each declares. Metrics keep the order of their first appearance; a metric of the same name
 * with another type or other buckets than its first appearance is left out (never mixed).
 */
export function mergeSnapshots(snapshots: readonly RegistrySnapshot[]): RegistrySnapshot {
  const merged = new Map<string, MetricSnapshot>()
  for (const snapshot of snapshots) {
    for (const m of snapshot) {
      const into = merged.get(m.name)
      if (into === undefined) {
        merged.set(m.name, copySnapshot(m))
        continue
      }
      if (into.type === 'counter' && m.type === 'counter') addSeries(into.series, m.series, (a, b) => a + b)
      else if (into.type === 'gauge' && m.type === 'gauge') addSeries(into.series, m.series, into.merge === 'min' ? Math.min : into.merge === 'max' ? Math.max : (a, b) => a + b)
      else if (into.type === 'histogram' && m.type === 'histogram' && sameBuckets(into.buckets, m.buckets)) {
        for (const [labels, counts, sum, count] of m.series) {
          const row = into.series.find((r) => r[0] === labels)
          if (row === undefined) into.series.push([labels, [...counts], sum, count])
          else {
            row[1] = row[1].map((c, i) => c + (counts[i] ?? 0))
            row[2] += sum
            row[3] += count
          }
        }
      }
    }
  }
  return [...merged.values()]
}

/** Only what adds up (counters and histograms), for the totals of a process that has gone. */
export function cumulativeOnly(snapshot: RegistrySnapshot): RegistrySnapshot {
  return snapshot.filter((m) => m.type !== 'gauge')
}

function copySnapshot(m: MetricSnapshot): MetricSnapshot {
  if (m.type === 'histogram') return { ...m, buckets: [...m.buckets], series: m.series.map(([l, c, s, n]) => [l, [...c], s, n]) }
  return { ...m, series: m.series.map(([l, v]) => [l, v]) } as MetricSnapshot
}

function addSeries(into: [string, number][], from: readonly [string, number][], combine: (a: number, b: number) => number): void {
  for (const [labels, v] of from) {
    const row = into.find((r) => r[0] === labels)
    if (row === undefined) into.push([labels, v])
    else row[1] = combine(row[1], v)
  }
}

function sameBuckets(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i])
}

/** A snapshot in the text exposition format, as Registry.render() writes it. */
export function renderSnapshot(snapshot: RegistrySnapshot): string {
  let out = ''
  for (const m of snapshot) {
    out += `# HELP ${m.name} ${escapeHelp(m.help)}\n# TYPE ${m.name} ${m.type}\n`
    if (m.type === 'histogram') {
      for (const [labels, counts, sum, count] of m.series) {
        const prefix = labels === '' ? '' : `${labels},`
        let cumulative = 0
        m.buckets.forEach((le, i) => {
          cumulative += counts[i] ?? 0
          out += `${m.name}_bucket{${prefix}le="${formatValue(le)}"} ${cumulative}\n`
        })
        out += `${m.name}_bucket{${prefix}le="+Inf"} ${count}\n`
        out += `${m.name}_sum${labels === '' ? '' : `{${labels}}`} ${formatValue(sum)}\n`
        out += `${m.name}_count${labels === '' ? '' : `{${labels}}`} ${count}\n`
      }
    } else {
      for (const [labels, v] of m.series) out += `${m.name}${labels === '' ? '' : `{${labels}}`} ${formatValue(v)}\n`
    }
  }
  return out
}
