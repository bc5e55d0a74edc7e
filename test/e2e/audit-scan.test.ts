// End-to-end: the background audit scan of `serve --audit` against a real kube-apiserver, with
// the shipped CRDs and RBAC (the scans run as the webhook's ServiceAccount). Two scanners race
// for the Lease: exactly one writes; PolicyReports follow a fixed Deployment and a new node;
// nothing is written when nothing changed; when the leader dies, the other takes over. Then the
// same with two `pod-preflight serve --audit` processes: the writer is SIGKILLed, the other
// takes over within the lease, and /metrics of each exports findings only on the writer, equal
// to the results of the PolicyReports.
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { parseAllDocuments, stringify } from 'yaml'
import { KubeConfig } from '@kubernetes/client-node'
import { RULES } from '../../src/rules/index.js'
import { loadDefaultPolicy } from '../../src/policy/policy.js'
import { startAuditScan, type AuditScan } from '../../src/audit/scan.js'
import type { PolicyReport } from '../../src/audit/policy-report.js'
import type { AuditReport } from '../../src/audit/audit.js'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { freePort, run, startCluster, type TestCluster } from './harness/cluster.js'
import { ensureBuilt, startWebhook, type Webhook } from './harness/webhook.js'

t.setTimeout(500_000)

const ROOT = new URL('../../', import.meta.url).pathname
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(300)
  }
}

function node(name: string, labels: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
    spec: { taints: [] },
    status: {
      capacity: { cpu: '8', memory: '32Gi', pods: '110', 'ephemeral-storage': '100Gi' },
      allocatable: { cpu: '8', memory: '32Gi', pods: '110', 'ephemeral-storage': '100Gi' },
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'test node', lastHeartbeatTime: '2026-01-01T10:00:00Z', lastTransitionTime: '2026-01-01T10:00:00Z' }],
    },
  }
}

async function addNode(cluster: TestCluster, name: string, labels: Record<string, string>): Promise<void> {
  await cluster.applyYaml(stringify(node(name, labels)))
  // TaintNodesByCondition taints a new node not-ready; no node lifecycle controller runs here.
  await cluster.kubectl(['taint', 'nodes', name, 'node.kubernetes.io/not-ready:NoSchedule-'])
}

function billing(xmx: string): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'billing', namespace: 'shop' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'billing' } },
      template: {
        metadata: { labels: { app: 'billing' } },
        spec: { containers: [{ name: 'app', image: 'eclipse-temurin:21-jre', command: ['java', `-Xmx${xmx}`, '-jar', '/app.jar'], resources: { requests: { cpu: '10m', memory: '1Gi' }, limits: { memory: '1Gi' } } }] },
      },
    },
  }
}

const db = {
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'db', namespace: 'shop' },
  spec: {
    serviceName: 'db',
    replicas: 1,
    selector: { matchLabels: { app: 'db' } },
    template: { metadata: { labels: { app: 'db' } }, spec: { nodeSelector: { disktype: 'ssd' }, containers: [{ name: 'db', image: 'postgres:16.2', resources: { requests: { cpu: '10m', memory: '64Mi' }, limits: { memory: '64Mi' } } }] } },
  },
}

async function report(cluster: TestCluster): Promise<PolicyReport | undefined> {
  const r = await cluster.kubectl(['get', 'policyreports.wgpolicyk8s.io', 'pod-preflight', '-n', 'shop', '-o', 'json'])
  return r.code === 0 ? (JSON.parse(r.stdout) as PolicyReport) : undefined
}

const resultOf = (r: PolicyReport | undefined, name: string, rule: string): string[] =>
  (r?.results ?? []).filter((x) => x.rule === rule && x.resources[0]?.name === name).map((x) => x.result)

/**
 * The webhook's namespace, ServiceAccount and roles as `install --cluster-view` renders them, the
 * report CRDs and the scan's RBAC from manifests/audit/, a node without the `disktype` label and
 * the workloads in `shop`; resolves with the kubeconfig of the webhook's ServiceAccount.
 */
async function setUp(t: Test, cluster: TestCluster): Promise<string> {
  const rendered = await promisify(execFile)(process.execPath, [join(ROOT, 'dist/cli/bin.js'), 'install', '--cluster-view', '--kube-version', '1.20.2', '-o', 'yaml'])
  const keep = new Set(['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'])
  const objects = parseAllDocuments(rendered.stdout).map((d) => d.toJS() as { kind?: string }).filter((o) => keep.has(o.kind ?? ''))
  await cluster.applyYaml(objects.map((o) => stringify(o)).join('---\n'))
  for (const f of ['manifests/audit/00-policyreport-crds.yaml', 'manifests/audit/10-rbac.yaml']) {
    await cluster.applyYaml(await readFile(join(ROOT, f), 'utf8'))
  }
  const est = await cluster.kubectl(['wait', '--for=condition=established', '--timeout=60s', 'crd/policyreports.wgpolicyk8s.io', 'crd/clusterpolicyreports.wgpolicyk8s.io'])
  t.equal(est.code, 0, `the CRDs are established on the 1.20 API server (${est.stderr})`)

  await cluster.applyYaml(`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n`)
  await addNode(cluster, 'node-1', {})
  await cluster.applyYaml([billing('2g'), db].map((o) => stringify(o)).join('---\n'))
  return (await cluster.serviceAccountKubeconfig('pod-preflight', 'pod-preflight')).kubeconfigPath
}

t.test('serve --audit: one writer, PolicyReports that follow the cluster, takeover', async (t) => {
  const cluster = await startCluster()
  t.teardown(() => cluster.stop())
  const sa = { kubeconfigPath: await setUp(t, cluster) }
  const policy = await loadDefaultPolicy(RULES)
  let writes = 0
  const scans: AuditScan[] = []
  const start = (identity: string): AuditScan => {
    const kubeConfig = new KubeConfig()
    kubeConfig.loadFromFile(sa.kubeconfigPath)
    const logs: string[] = []
    const s = startAuditScan({
      kubeConfig,
      rules: RULES,
      policy: () => policy,
      logger: { info: (_o, m) => logs.push(m), warn: (o, m) => logs.push(`${m} ${JSON.stringify(o)}`), error: (o, m) => logs.push(`${m} ${JSON.stringify(o)}`) },
      metrics: { setFindings: () => undefined, setLeader: () => undefined, countWrite: (r) => void (r === 'ok' ? writes++ : t.fail(`write failed: ${logs.join('; ')}`)) },
      intervalMs: 1000,
      leaseNamespace: 'pod-preflight',
      leaseDurationMs: 4000,
      renewDeadlineMs: 3000,
      retryPeriodMs: 500,
      identity,
    })
    scans.push(s)
    return s
  }
  const a = start('replica-a')
  const b = start('replica-b')
  t.teardown(() => Promise.all(scans.map((s) => s.stop())))

  const first = await waitFor('the first PolicyReport', async () => {
    const r = await report(cluster)
    return r !== undefined && resultOf(r, 'billing', 'jvm-heap-exceeds-memory-limit').length > 0 ? r : undefined
  })
  t.same(resultOf(first, 'billing', 'jvm-heap-exceeds-memory-limit'), ['fail'], 'deny finding: fail')
  t.same(resultOf(first, 'db', 'node-selector-unsatisfiable'), ['warn'], 'warn finding against the live nodes: warn')
  t.same(resultOf(first, 'db', 'jvm-heap-exceeds-memory-limit'), ['pass'], 'a rule that found nothing: pass')
  const fail = first.results.find((x) => x.result === 'fail')
  t.equal(fail?.properties?.['path'], 'spec.template.spec.containers[0].command[1]', 'the field path in properties')
  t.match(fail?.properties?.['fix'] ?? '', /-Xmx768m/, 'the fix in properties')
  t.equal(first.summary.fail, first.results.filter((x) => x.result === 'fail').length)
  const cpr = await cluster.kubectl(['get', 'clusterpolicyreports.wgpolicyk8s.io', 'pod-preflight', '-o', 'json'])
  t.equal(cpr.code, 0, 'the ClusterPolicyReport summary exists')
  t.ok((JSON.parse(cpr.stdout) as PolicyReport).summary.fail >= 1)

  // Exactly one writer, and the Lease says which.
  for (let i = 0; i < 5; i++) {
    t.equal([a, b].filter((s) => s.isLeader()).length, 1, 'one leader')
    await sleep(400)
  }
  const leader = a.isLeader() ? a : b
  const other = leader === a ? b : a
  const lease = await cluster.kubectl(['get', 'lease', 'pod-preflight-audit', '-n', 'pod-preflight', '-o', 'jsonpath={.spec.holderIdentity}'])
  t.equal(lease.stdout, leader.identity)

  // Nothing changed: no write over several intervals.
  const rv = (await report(cluster))?.metadata
  const before = writes
  await sleep(4000)
  t.equal(writes, before, 'no write when nothing changed')
  t.same((await report(cluster))?.metadata, rv)

  // The Deployment is fixed: its result goes to pass.
  await cluster.applyYaml(stringify(billing('512m')))
  await waitFor('billing to pass', async () => {
    const r = await report(cluster)
    return resultOf(r, 'billing', 'jvm-heap-exceeds-memory-limit').join() === 'pass' ? r : undefined
  })
  t.pass('a fixed Deployment passes')

  // A node with the missing label: the StatefulSet's selector is satisfiable.
  await addNode(cluster, 'node-ssd', { disktype: 'ssd' })
  await waitFor('db to pass', async () => {
    const r = await report(cluster)
    return resultOf(r, 'db', 'node-selector-unsatisfiable').join() === 'pass' ? r : undefined
  })
  t.pass('a new node with the label makes the selector pass')

  // The leader dies without releasing the Lease: the other takes over once it expires.
  const died = Date.now()
  await leader.stop({ release: false })
  await waitFor('the other replica to take over', async () => (other.isLeader() ? true : undefined), 60_000)
  t.comment(`took over after ${Date.now() - died} ms (lease 4 s)`)
  const holder = await cluster.kubectl(['get', 'lease', 'pod-preflight-audit', '-n', 'pod-preflight', '-o', 'jsonpath={.spec.holderIdentity}'])
  t.equal(holder.stdout, other.identity, 'the Lease names the new leader')
  await cluster.applyYaml(stringify(billing('4g')))
  await waitFor('the new leader to write', async () => {
    const r = await report(cluster)
    return resultOf(r, 'billing', 'jvm-heap-exceeds-memory-limit').join() === 'fail' ? r : undefined
  })
  t.pass('the new leader writes')
})

/** `rule namespace action count` of every pod_preflight_audit_findings series, sorted. */
function findingGauges(metrics: string): string[] {
  return metrics
    .split('\n')
    .filter((l) => l.startsWith('pod_preflight_audit_findings{'))
    .map((l) => {
      const x = /rule="([^"]*)",namespace="([^"]*)",action="([^"]*)"\} (\d+)$/.exec(l)
      return x === null ? l : `${x[1]} ${x[2]} ${x[3]} ${x[4]}`
    })
    .sort()
}

/** The same, counted from the results of every PolicyReport pod-preflight wrote (a finding's result carries its action). */
async function reportGauges(cluster: TestCluster): Promise<string[]> {
  const r = await cluster.kubectl(['get', 'policyreports.wgpolicyk8s.io', '-A', '-l', 'app.kubernetes.io/managed-by=pod-preflight', '-o', 'json'])
  if (r.code !== 0) throw new Error(`kubectl get policyreports: ${r.stderr}`)
  const counts = new Map<string, number>()
  for (const report of (JSON.parse(r.stdout) as { items: PolicyReport[] }).items) {
    for (const x of report.results) {
      const action = x.properties?.['action']
      if (action === undefined) continue
      const k = `${x.rule} ${x.resources[0]?.namespace ?? ''} ${action}`
      counts.set(k, (counts.get(k) ?? 0) + 1)
    }
  }
  return [...counts].map(([k, n]) => `${k} ${n}`).sort()
}

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status}`)
  return res.text()
}

const leaderOf = (metrics: string): string | undefined => /^pod_preflight_audit_leader (\d+)$/m.exec(metrics)?.[1]
const okWrites = (metrics: string): number => Number(/^pod_preflight_audit_report_writes_total\{result="ok"\} (\d+)$/m.exec(metrics)?.[1] ?? 0)

t.test('two serve --audit processes: one writer exports the findings; SIGKILL it and the other takes over within the lease', async (t) => {
  await ensureBuilt()
  const cluster = await startCluster()
  t.teardown(() => cluster.stop())
  const kubeconfig = await setUp(t, cluster)

  const LEASE_MS = 4000
  // serve derives the retry period from --lease-duration (a seventh, at least 500 ms), as below.
  const RETRY_MS = Math.max(500, Math.round(LEASE_MS / 7))
  const replicas: { name: string; webhook: Webhook; metricsPort: number; dir: string }[] = []
  for (const name of ['a', 'b']) {
    const dir = await mkdtemp(join(tmpdir(), `pp-audit-${name}-`))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    const metricsPort = await freePort()
    const webhook = await startWebhook(dir, ['--audit', '--audit-interval=1s', `--lease-duration=${LEASE_MS / 1000}s`, '--lease-namespace=pod-preflight', `--metrics-port=${metricsPort}`, `--kubeconfig=${kubeconfig}`])
    t.teardown(() => webhook.stop())
    replicas.push({ name, webhook, metricsPort, dir })
  }

  await waitFor('the first PolicyReport', async () => {
    const r = await report(cluster)
    return resultOf(r, 'billing', 'jvm-heap-exceeds-memory-limit').join() === 'fail' && resultOf(r, 'db', 'node-selector-unsatisfiable').join() === 'warn' ? r : undefined
  })

  // Exactly one writer, over several scrapes, and the Lease names it.
  let writer: (typeof replicas)[number] | undefined
  for (let i = 0; i < 5; i++) {
    const leaders = []
    for (const r of replicas) if (leaderOf(await scrape(r.metricsPort)) === '1') leaders.push(r)
    t.equal(leaders.length, 1, `exactly one replica is the writer (scrape ${i + 1})`)
    if (i > 0) t.equal(leaders[0], writer, 'and it stays the same one')
    writer = leaders[0]
    await sleep(500)
  }
  if (writer === undefined) throw new Error('no writer')
  const follower = replicas.find((r) => r !== writer)
  if (follower === undefined) throw new Error('no follower')
  const identityOf = async (w: Webhook): Promise<string | undefined> =>
    (await w.logs()).filter((l) => l['msg'] === 'became the leader' && l['lease'] === 'pod-preflight/pod-preflight-audit').map((l) => String(l['identity'])).at(-1)
  const writerIdentity = await identityOf(writer.webhook)
  const lease = await cluster.kubectl(['get', 'lease', 'pod-preflight-audit', '-n', 'pod-preflight', '-o', 'jsonpath={.spec.holderIdentity}'])
  t.equal(lease.stdout, writerIdentity, 'the Lease names the replica whose /metrics says it writes')
  t.equal(await identityOf(follower.webhook), undefined, 'the other replica never led')

  // The PolicyReports hold the findings `pod-preflight audit -A` lists for the same cluster.
  const audit = await run(process.execPath, [join(ROOT, 'dist/cli/bin.js'), 'audit', '-A', '-o', 'json', `--kubeconfig=${cluster.kubeconfigPath}`])
  t.equal(audit.code, 1, `audit exits 1: something would be denied (${audit.stderr})`)
  const audited = new Map<string, number>()
  for (const w of (JSON.parse(audit.stdout) as AuditReport).workloads) {
    for (const f of w.findings) {
      const k = `${f.rule} ${w.object.namespace ?? ''} ${f.action}`
      audited.set(k, (audited.get(k) ?? 0) + 1)
    }
  }
  const expected = await reportGauges(cluster)
  t.same(expected, [...audited].map(([k, n]) => `${k} ${n}`).sort(), 'the PolicyReport results are the findings of audit -A -o json')

  // The writer's gauges are the findings of the PolicyReports; the other exports none.
  t.ok(expected.includes('jvm-heap-exceeds-memory-limit shop deny 1'), `the reports hold the deny finding (${expected.join('; ')})`)
  t.ok(expected.includes('node-selector-unsatisfiable shop warn 1'), 'and the warn finding')
  const writerMetrics = await scrape(writer.metricsPort)
  t.same(findingGauges(writerMetrics), expected, 'the writer\'s pod_preflight_audit_findings equal the PolicyReport results, by rule, namespace and action')
  t.ok(okWrites(writerMetrics) > 0, 'the writer wrote the reports')
  const followerMetrics = await scrape(follower.metricsPort)
  t.same(findingGauges(followerMetrics), [], 'the other replica exports no findings')
  t.match(followerMetrics, /^# TYPE pod_preflight_audit_findings gauge$/m, 'though it describes the family')
  t.equal(okWrites(followerMetrics), 0, 'and has written nothing')

  // SIGKILL the writer's node process (not its supervisor): it cannot release the Lease.
  const children = (await run('ps', ['-o', 'pid=,args=', '--ppid', String(writer.webhook.proc.pid)])).stdout.split('\n')
  const pid = Number(children.find((l) => l.includes('dist/cli/bin.js serve'))?.trim().split(/\s+/)[0])
  t.ok(pid > 0, `the writer's process id (${pid})`)
  const killed = Date.now()
  process.kill(pid, 'SIGKILL')
  let tookOver = 0
  while (Date.now() - killed < 60_000) {
    if (leaderOf(await scrape(follower.metricsPort).catch(() => '')) === '1') {
      tookOver = Date.now() - killed
      break
    }
    await sleep(100)
  }
  t.ok(tookOver > 0, 'the other replica became the writer')
  // The follower counts the lease from when it saw the last renewal (up to one retry period after
  // it was made, and the dead writer renewed up to one retry period before its death), then notices
  // expiry at its next try: the lease duration plus two retry periods, and 1 s for a loaded machine.
  t.ok(tookOver <= LEASE_MS + 2 * RETRY_MS + 1000, `took over ${tookOver} ms after the SIGKILL (lease ${LEASE_MS} ms, retry ${RETRY_MS} ms)`)
  t.equal(await writer.webhook.exited, 137, 'the killed writer is gone (137: SIGKILL)')
  const newIdentity = await identityOf(follower.webhook)
  const holder = await cluster.kubectl(['get', 'lease', 'pod-preflight-audit', '-n', 'pod-preflight', '-o', 'jsonpath={.spec.holderIdentity}'])
  t.equal(holder.stdout, newIdentity, 'the Lease names the new writer')
  t.not(newIdentity, writerIdentity)

  // The reports keep being updated by the new writer: the Deployment fixed goes to pass.
  await cluster.applyYaml(stringify(billing('512m')))
  await waitFor('billing to pass', async () => {
    const r = await report(cluster)
    return resultOf(r, 'billing', 'jvm-heap-exceeds-memory-limit').join() === 'pass' ? r : undefined
  })
  t.pass('the new writer updated the PolicyReport: the fixed Deployment passes')
  // And a node with the label the StatefulSet's nodeSelector asks for.
  await addNode(cluster, 'node-ssd', { disktype: 'ssd' })
  await waitFor('db to pass', async () => {
    const r = await report(cluster)
    return resultOf(r, 'db', 'node-selector-unsatisfiable').join() === 'pass' ? r : undefined
  })
  t.pass('the new writer updated the PolicyReport: with the labelled node the selector passes')
  const after = await reportGauges(cluster)
  t.notOk(after.some((g) => g.startsWith('jvm-heap-exceeds-memory-limit ')), 'the deny finding is gone from the reports')
  t.notOk(after.some((g) => g.startsWith('node-selector-unsatisfiable ')), 'and the warn finding')
  // Its gauges are set after the scan's last write: wait for that scan to finish, then compare.
  const settled = await waitFor('the new writer\'s gauges to follow', async () => {
    const m = await scrape(follower.metricsPort)
    return findingGauges(m).join() === after.join() ? m : undefined
  }, 30_000).catch(() => undefined)
  t.same(findingGauges(settled ?? (await scrape(follower.metricsPort))), after, 'the new writer\'s gauges equal the updated PolicyReport results')
  t.equal(leaderOf(settled ?? ''), '1')
})
