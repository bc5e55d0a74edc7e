// End-to-end: the background audit scan of `serve --audit` against a real kube-apiserver, with
// the shipped CRDs and RBAC (the scans run as the webhook's ServiceAccount). Two scanners race
// for the Lease: exactly one writes; PolicyReports follow a fixed Deployment and a new node;
// nothing is written when nothing changed; when the leader dies, the other takes over.
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { parseAllDocuments, stringify } from 'yaml'
import { KubeConfig } from '@kubernetes/client-node'
import { RULES } from '../../src/rules/index.js'
import { loadDefaultPolicy } from '../../src/policy/policy.js'
import { startAuditScan, type AuditScan } from '../../src/audit/scan.js'
import type { PolicyReport } from '../../src/audit/policy-report.js'
import { startCluster, type TestCluster } from './harness/cluster.js'

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

t.test('serve --audit: one writer, PolicyReports that follow the cluster, takeover', async (t) => {
  const cluster = await startCluster()
  t.teardown(() => cluster.stop())
  // The webhook's namespace, ServiceAccount and roles as `install --cluster-view` renders them.
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

  const sa = await cluster.serviceAccountKubeconfig('pod-preflight', 'pod-preflight')
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
