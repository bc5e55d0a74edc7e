// The background scan's findings gauges are the writer's: exported by the replica that holds the
// audit Lease and writes the PolicyReports, never by another, and dropped when the Lease is lost.
// Two scans with their own metrics registries (as two replicas have), the leader election and
// the API client replaced by fakes of our own interfaces; the cluster read from a state file.
import t from 'tap'
import { KubeConfig } from '@kubernetes/client-node'
import { RULES } from '../../src/rules/index.js'
import { loadDefaultPolicy } from '../../src/policy/policy.js'
import { startAuditScan, type AuditScan } from '../../src/audit/scan.js'
import { readClusterFiles } from '../../src/audit/sources.js'
import type { PolicyReport } from '../../src/audit/policy-report.js'
import type { LeaderElection, LeaderElectionOptions } from '../../src/audit/leader.js'
import type { KubeRequest, KubeResponse, KubeRest } from '../../src/kube/rest.js'
import { auditScanMetrics, createMetrics, type WebhookMetrics } from '../../src/admission/metrics.js'

const STATE = 'test/fixtures/audit/cluster.yaml'
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined }

async function until(what: string, probe: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

/** A leader election the test decides. */
function fakeElection(): { start: (o: LeaderElectionOptions) => LeaderElection; win(): void; lose(): void } {
  let opts: LeaderElectionOptions | undefined
  let leader = false
  return {
    start: (o) => {
      opts = o
      return {
        identity: o.identity ?? 'x',
        isLeader: () => leader,
        stop: async () => {
          if (leader) {
            leader = false
            o.onStoppedLeading()
          }
        },
      }
    },
    win() {
      leader = true
      opts?.onStartedLeading()
    },
    lose() {
      leader = false
      opts?.onStoppedLeading()
    },
  }
}

/**
 * An API server that accepts every report write and remembers the last of each; `hold` delays
 * the write of the ClusterPolicyReport, the last of a scan (`holding` is true while it waits).
 */
function fakeApi(): KubeRest & { reports: Map<string, PolicyReport>; writes: number; hold: Promise<void> | undefined; holding: boolean } {
  const api = {
    reports: new Map<string, PolicyReport>(),
    writes: 0,
    hold: undefined as Promise<void> | undefined,
    holding: false,
    async request(r: KubeRequest): Promise<KubeResponse> {
      if (r.method === 'GET') return r.path.includes('/clusterpolicyreports/') ? { status: 404, body: {}, text: '', warnings: [] } : { status: 200, body: { items: [] }, text: '', warnings: [] }
      const report = r.body as PolicyReport
      if (api.hold !== undefined && report.kind === 'ClusterPolicyReport') {
        api.holding = true
        await api.hold
        api.holding = false
      }
      api.writes++
      api.reports.set(`${report.kind}/${report.metadata.namespace ?? ''}`, report)
      return { status: 201, body: report, text: '', warnings: [] }
    },
  }
  return api
}

/** `rule namespace action count`, one line per gauge series, sorted. */
function gauges(m: WebhookMetrics): string[] {
  return m.registry
    .render()
    .split('\n')
    .filter((l) => l.startsWith('pod_preflight_audit_findings{'))
    .map((l) => {
      const x = /rule="([^"]*)",namespace="([^"]*)",action="([^"]*)"\} (\d+)$/.exec(l)
      return x === null ? l : `${x[1]} ${x[2]} ${x[3]} ${x[4]}`
    })
    .sort()
}

/** The same, counted from the results of the PolicyReports written (each finding's result carries its action). */
function fromReports(reports: Iterable<PolicyReport>): string[] {
  const counts = new Map<string, number>()
  for (const r of reports) {
    for (const x of r.results) {
      const action = x.properties?.['action']
      if (action === undefined) continue
      const k = `${x.rule} ${x.resources[0]?.namespace ?? ''} ${action}`
      counts.set(k, (counts.get(k) ?? 0) + 1)
    }
  }
  return [...counts].map(([k, n]) => `${k} ${n}`).sort()
}

const leaderGauge = (m: WebhookMetrics): string | undefined => /^pod_preflight_audit_leader (\d+)$/m.exec(m.registry.render())?.[1]

async function replicas(t: { teardown(fn: () => unknown): void }, n: number) {
  const policy = await loadDefaultPolicy(RULES)
  const input = await readClusterFiles([STATE], { cwd: process.cwd(), stdin: process.stdin })
  const out = []
  for (let i = 0; i < n; i++) {
    const metrics = createMetrics()
    const election = fakeElection()
    const api = fakeApi()
    let reads = 0
    // What the scan tells its metrics, in order, besides what the registry ends up exporting.
    const calls: string[] = []
    const adapter = auditScanMetrics(metrics)
    const scan: AuditScan = startAuditScan({
      kubeConfig: new KubeConfig(),
      rules: RULES,
      policy: () => policy,
      logger: silent,
      metrics: {
        setFindings: (rows) => {
          calls.push(`findings ${rows.length}`)
          adapter.setFindings(rows)
        },
        setLeader: (l) => {
          calls.push(`leader ${l}`)
          adapter.setLeader(l)
        },
        countWrite: (r) => adapter.countWrite(r),
      },
      intervalMs: 60_000,
      leaseNamespace: 'pod-preflight',
      identity: `replica-${i}`,
      seams: {
        rest: api,
        election: election.start,
        read: async () => {
          reads++
          return input
        },
      },
    })
    t.teardown(() => scan.stop())
    out.push({ metrics, election, api, scan, calls, reads: () => reads })
  }
  return out
}

t.test('only the writer exports findings; the other replica exports none', async (t) => {
  const [a, b] = await replicas(t, 2)
  if (a === undefined || b === undefined) throw new Error('two replicas')
  a.election.win()
  await until('the leader to export its findings', () => gauges(a.metrics).length > 0)
  await until('the leader to write the cluster report', () => a.api.reports.has('ClusterPolicyReport/'))

  const written = [...a.api.reports.values()]
  t.same(gauges(a.metrics), fromReports(written), 'the writer\'s gauges count exactly the findings in the reports it wrote')
  t.ok(gauges(a.metrics).includes('jvm-heap-exceeds-memory-limit shop deny 1'), 'a deny finding, by rule, namespace and action')
  t.ok(gauges(a.metrics).includes('node-selector-unsatisfiable data warn 1'), 'a warn finding')
  t.equal(leaderGauge(a.metrics), '1')

  t.same(gauges(b.metrics), [], 'the replica that does not hold the Lease exports no findings')
  t.equal(b.api.writes, 0, 'and writes nothing')
  t.equal(b.reads(), 0, 'and does not even read the cluster')
  t.match(b.metrics.registry.render(), /# TYPE pod_preflight_audit_findings gauge\n/, 'the family is still described')
  t.not(leaderGauge(b.metrics), '1')
})

t.test('a replica that loses the Lease drops its findings; the new writer exports them', async (t) => {
  const [a, b] = await replicas(t, 2)
  if (a === undefined || b === undefined) throw new Error('two replicas')
  a.election.win()
  await until('the leader to export its findings', () => gauges(a.metrics).length > 0)
  const before = gauges(a.metrics)

  a.election.lose()
  t.same(gauges(a.metrics), [], 'cleared at once when leadership is lost')
  t.equal(leaderGauge(a.metrics), '0')
  b.election.win()
  await until('the new leader to export its findings', () => gauges(b.metrics).length > 0)
  await until('the new leader to write the cluster report', () => b.api.reports.has('ClusterPolicyReport/'))
  t.same(gauges(b.metrics), before, 'the new writer exports the same findings')
  t.same(gauges(b.metrics), fromReports(b.api.reports.values()))
  t.same(gauges(a.metrics), [], 'the former writer still exports none')
})

t.test('leadership lost while a scan writes its last report: the finished scan does not export', async (t) => {
  const [a] = await replicas(t, 1)
  if (a === undefined) throw new Error('one replica')
  let release = (): void => undefined
  a.api.hold = new Promise<void>((r) => (release = r))
  a.election.win()
  await until('the scan to be writing its last report', () => a.api.holding)
  a.election.lose()
  release()
  await sleep(200)
  t.same(gauges(a.metrics), [], 'no findings exported by a replica that is no longer the writer')
  t.equal(leaderGauge(a.metrics), '0')
  t.same(a.calls, ['leader true', 'leader false', 'findings 0'], 'the scan itself does not hand over the findings of a scan it finished as a follower')
})

t.test('the metrics adapter: findings set while not the leader are not exported', async (t) => {
  const m = createMetrics()
  const s = auditScanMetrics(m)
  s.setFindings([{ rule: 'command-missing', namespace: 'a', action: 'deny', count: 2 }])
  t.same(gauges(m), [], 'not the leader: nothing')
  s.setLeader(true)
  s.setFindings([{ rule: 'command-missing', namespace: 'a', action: 'deny', count: 2 }])
  t.same(gauges(m), ['command-missing a deny 2'])
  s.setFindings([{ rule: 'memory-limit-missing', namespace: 'b', action: 'warn', count: 1 }])
  t.same(gauges(m), ['memory-limit-missing b warn 1'], 'each scan replaces the last: series that went away disappear')
  s.setLeader(false)
  t.same(gauges(m), [], 'dropped with the Lease')
  s.countWrite('ok')
  t.match(m.registry.render(), /pod_preflight_audit_report_writes_total\{result="ok"\} 1/)
})
