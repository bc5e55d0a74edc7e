// End-to-end: `pod-preflight audit` against a real kube-apiserver over real TLS. There is no
// controller manager, so the test creates what controllers would: a ReplicaSet owned by the
// Deployment, Pods owned by the ReplicaSet (ownerReferences with the real uids), and their
// statuses through the status subresource.
import t from 'tap'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { RULES } from '../../src/rules/index.js'
import { memoryIO } from '../../src/cli/io.js'
import { main } from '../../src/cli/main.js'
import type { AuditReport } from '../../src/audit/audit.js'
import { startCluster, type TestCluster } from './harness/cluster.js'

t.setTimeout(400_000)

async function uidOf(cluster: TestCluster, what: string, ns: string): Promise<string> {
  const r = await cluster.kubectl(['get', what, '-n', ns, '-o', 'jsonpath={.metadata.uid}'])
  if (r.code !== 0 || r.stdout === '') throw new Error(`no uid for ${what}: ${r.stderr}`)
  return r.stdout
}

function container(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'app',
    image: 'nginx:1.27',
    ports: [{ containerPort: 80 }],
    readinessProbe: { httpGet: { path: '/', port: 80 } },
    resources: { requests: { cpu: '10m', memory: '64Mi', 'ephemeral-storage': '100Mi' }, limits: { memory: '64Mi', 'ephemeral-storage': '100Mi' } },
    ...extra,
  }
}

t.test('audit -A -o json lists exactly the expected findings, owned pods once', async (t) => {
  const cluster = await startCluster()
  t.teardown(() => cluster.stop())
  const objects = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'data' } },
    // As a kubelet registers it: Ready, with room.
    {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } },
      spec: { taints: [] },
      status: {
        capacity: { cpu: '8', memory: '32Gi', pods: '110', 'ephemeral-storage': '100Gi' },
        allocatable: { cpu: '8', memory: '32Gi', pods: '110', 'ephemeral-storage': '100Gi' },
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'test node', lastHeartbeatTime: '2026-01-01T10:00:00Z', lastTransitionTime: '2026-01-01T10:00:00Z' }],
      },
    },
    { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'small', namespace: 'data' }, spec: { hard: { 'limits.memory': '1Gi' } } },
    // Good: nothing above info.
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop' }, spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [container()] } } } },
    // Denied by policy: JVM heap above the limit; its pods will be OOMKilled.
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'billing', namespace: 'shop' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'billing' } },
        template: { metadata: { labels: { app: 'billing' } }, spec: { containers: [container({ image: 'eclipse-temurin:21-jre', command: ['java', '-Xmx2g', '-jar', '/app.jar'], ports: undefined, readinessProbe: undefined, resources: { requests: { cpu: '10m', memory: '1Gi', 'ephemeral-storage': '100Mi' }, limits: { memory: '1Gi', 'ephemeral-storage': '100Mi' } } })] } },
      },
    },
    // Warned: a nodeSelector no node satisfies.
    { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace: 'data' }, spec: { serviceName: 'db', replicas: 1, selector: { matchLabels: { app: 'db' } }, template: { metadata: { labels: { app: 'db' } }, spec: { nodeSelector: { disktype: 'ssd' }, containers: [container()] } } } },
  ]
  await cluster.applyYaml(objects.map((o) => stringify(o)).join('---\n'))

  // TaintNodesByCondition gives a new node the not-ready taint; the node lifecycle controller
  // would take it off a Ready node, and no controller runs here.
  const untaint = await cluster.kubectl(['taint', 'nodes', 'node-1', 'node.kubernetes.io/not-ready:NoSchedule-'])
  if (untaint.code !== 0) throw new Error(`untaint: ${untaint.stderr}`)

  // What the controllers would have made: a ReplicaSet and two Pods behind the Deployment.
  const depUid = await uidOf(cluster, 'deployment/billing', 'shop')
  const billingSpec = (objects[5] as { spec: { template: { spec: unknown } } }).spec.template.spec
  await cluster.applyYaml(
    JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'billing-5c4f', namespace: 'shop', labels: { app: 'billing' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'billing', uid: depUid, controller: true }] },
      spec: { replicas: 2, selector: { matchLabels: { app: 'billing' } }, template: { metadata: { labels: { app: 'billing' } }, spec: billingSpec } },
    }),
  )
  const rsUid = await uidOf(cluster, 'replicaset/billing-5c4f', 'shop')
  for (const name of ['billing-5c4f-a', 'billing-5c4f-b']) {
    await cluster.applyYaml(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: 'shop', labels: { app: 'billing' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'billing-5c4f', uid: rsUid, controller: true }] },
        spec: { ...(billingSpec as object), nodeName: 'node-1' },
      }),
    )
    const status = {
      phase: 'Running',
      containerStatuses: [
        {
          name: 'app',
          image: 'eclipse-temurin:21-jre',
          imageID: '',
          ready: false,
          restartCount: 3,
          state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container' } },
          lastState: { terminated: { exitCode: 137, reason: 'OOMKilled', startedAt: '2026-01-01T10:00:00Z', finishedAt: '2026-01-01T10:01:00Z' } },
        },
      ],
    }
    const r = await cluster.kubectl(['patch', 'pod', name, '-n', 'shop', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })])
    if (r.code !== 0) throw new Error(`patch status: ${r.stderr}`)
  }
  // A bare Pod (judged on its own).
  await cluster.applyYaml(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'debug', namespace: 'data' }, spec: { containers: [{ name: 'shell', image: 'busybox:1.36' }] } }))

  const io = memoryIO('', { KUBECONFIG: cluster.kubeconfigPath }, process.cwd())
  const code = await main(['audit', '-A', '--format', 'json'], io)
  t.equal(code, 1, `exit 1: something would be denied (stderr: ${io.err()})`)
  const report = JSON.parse(io.out()) as AuditReport
  const mine = report.workloads.filter((w) => w.object.namespace === 'shop' || w.object.namespace === 'data')
  t.same(
    mine.map((w) => `${w.object.kind} ${w.object.namespace}/${w.object.name}`),
    ['StatefulSet data/db', 'Pod data/debug', 'Deployment shop/billing', 'Deployment shop/web'],
    'each workload once: the ReplicaSet and its pods are represented by the Deployment',
  )
  t.equal(report.workloads.length, mine.length, 'nothing else is judged: no workload outside the test namespaces, no ReplicaSet or owned Pod on its own')
  const keys = report.workloads.flatMap((w) => w.findings.map((f) => `${w.object.kind} ${w.object.namespace}/${w.object.name} ${f.rule} ${f.path}`))
  t.same(keys, [...new Set(keys)], 'no finding twice')
  // Every finding of every workload, info included: exactly these.
  t.same(
    Object.fromEntries(mine.map((w) => [w.object.name, w.findings.map((f) => `${f.action} ${f.rule} ${f.path}`)])),
    {
      db: ['warn node-selector-unsatisfiable spec.template.spec.nodeSelector'],
      debug: [
        'deny command-missing spec.containers[0].command',
        'deny quota-requires-limits spec.containers[0].resources.limits.memory',
        'warn memory-limit-missing spec.containers[0].resources.limits.memory',
        'info ephemeral-storage-limit-missing spec.containers[0].resources.limits.ephemeral-storage',
      ],
      billing: ['deny jvm-heap-exceeds-memory-limit spec.template.spec.containers[0].command[1]'],
      web: [],
    },
    'exactly the expected findings, info included',
  )
  const above = (name: string) => mine.find((w) => w.object.name === name)?.findings.filter((f) => f.action !== 'info').map((f) => `${f.action} ${f.rule} ${f.path}`)
  t.same(above('web'), [], 'the good Deployment: nothing above info')
  t.same(above('billing'), ['deny jvm-heap-exceeds-memory-limit spec.template.spec.containers[0].command[1]'])
  t.same(above('db'), ['warn node-selector-unsatisfiable spec.template.spec.nodeSelector'], 'judged against the live nodes')
  t.same(above('debug'), ['deny command-missing spec.containers[0].command', 'deny quota-requires-limits spec.containers[0].resources.limits.memory', 'warn memory-limit-missing spec.containers[0].resources.limits.memory'], 'the bare Pod, with the quota of its namespace')
  const billing = mine.find((w) => w.object.name === 'billing')
  t.same(billing?.pods, { total: 2, failing: 2 })
  t.equal(billing?.failures[0]?.text, '2 pods oom-killed; jvm-heap-exceeds-memory-limit would have denied this')
  t.equal(billing?.uid, depUid, 'the live uid is kept')

  // -n limits the audit, and the HTML output is written where asked.
  const dir = await mkdtemp(join(tmpdir(), 'audit-e2e-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const one = memoryIO('', { KUBECONFIG: cluster.kubeconfigPath }, process.cwd())
  t.equal(await main(['audit', '-n', 'data', '-o', 'html', '--output-file', join(dir, 'a.html')], one), 1, one.err())
  t.match(await readFile(join(dir, 'a.html'), 'utf8'), /pod-preflight audit: 2 workloads/)
  t.ok(RULES.length > 0)
})

t.test('an unreachable API server is one clear error, exit 2', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'audit-e2e-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const kc = join(dir, 'kubeconfig')
  const { writeFile } = await import('node:fs/promises')
  await writeFile(kc, 'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: { server: "https://127.0.0.1:9" }\nusers:\n- name: u\n  user: { token: x }\ncontexts:\n- name: x\n  context: { cluster: c, user: u }\ncurrent-context: x\n')
  const io = memoryIO('', { KUBECONFIG: kc }, process.cwd())
  t.equal(await main(['audit', '-A'], io), 2)
  t.match(io.err(), /^pod-preflight audit: cannot list deployments from https:\/\/127\.0\.0\.1:9: .*ECONNREFUSED/m)
  t.notMatch(io.err(), /\n\s+at /, 'no stack trace')
})
