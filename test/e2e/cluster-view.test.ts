// The live cluster view against a real kube-apiserver (test/e2e/harness): it follows Nodes,
// quotas, LimitRanges, ConfigMaps and Secrets as kubectl changes them, the scheduling verdict
// changes without a restart, `synced` turns false while the API server is unreachable and
// recovers, and the ClusterRole the README gives is enough (and Secrets can be left out).
import t from 'tap'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { readFile } from 'node:fs/promises'
import { KubeConfig } from '@kubernetes/client-node'
import { startCluster, type TestCluster } from './harness/cluster.js'
import { startLiveClusterView, type LiveClusterViewHandle } from '../../src/cluster/live.js'
import { schedule, countedReasons } from '../../src/cluster/scheduling.js'
import { evaluateObject } from '../../src/engine/evaluate.js'
import { extractPod } from '../../src/engine/workload.js'
import { loadDefaultPolicy } from '../../src/policy/policy.js'
import { RULES } from '../../src/rules/index.js'
import type { PodView } from '../../src/engine/types.js'
import type { ClusterView } from '../../src/cluster/view.js'
import { main } from '../../src/cli/main.js'
import { memoryIO } from '../../src/cli/io.js'
import { loadClusterStateFiles } from '../../src/cluster/files.js'
import { join } from 'node:path'

t.setTimeout(300_000)

/** A TCP relay in front of the API server: closing it is the API server going away for the view. */
interface Relay {
  port: number
  down(): Promise<void>
  up(): Promise<void>
}

async function relay(targetPort: number): Promise<Relay> {
  const sockets = new Set<Socket>()
  let server: Server | undefined
  let port = 0
  const up = async (): Promise<void> => {
    server = createServer((client) => {
      const upstream = connect(targetPort, '127.0.0.1')
      for (const s of [client, upstream]) {
        sockets.add(s)
        s.on('close', () => sockets.delete(s))
        s.on('error', () => undefined)
      }
      client.pipe(upstream).pipe(client)
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
    })
    await new Promise<void>((resolve) => server?.listen(port, '127.0.0.1', () => resolve()))
    const addr = server.address()
    if (addr !== null && typeof addr === 'object') port = addr.port
  }
  const down = async (): Promise<void> => {
    for (const s of sockets) s.destroy()
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())))
    server = undefined
  }
  await up()
  return {
    get port() {
      return port
    },
    down,
    up,
  }
}

async function kubeConfigVia(path: string, server?: string): Promise<KubeConfig> {
  const raw = JSON.parse(await readFile(path, 'utf8')) as { clusters: { cluster: { server: string } }[] }
  if (server !== undefined) for (const c of raw.clusters) c.cluster.server = server
  const kc = new KubeConfig()
  kc.loadFromString(JSON.stringify(raw))
  return kc
}

async function waitFor(what: string, pred: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for: ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function ok(cluster: TestCluster, args: string[], input?: string): Promise<string> {
  const r = await cluster.kubectl(args, input === undefined ? {} : { input })
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`)
  return r.stdout
}

function node(name: string, o: { labels?: Record<string, string>; taints?: string; cpu?: string; ready?: 'True' | 'False'; gpu?: string }): string {
  const labels = Object.entries({ 'kubernetes.io/hostname': name, ...(o.labels ?? {}) })
    .map(([k, v]) => `      ${k}: "${v}"`)
    .join('\n')
  const gpu = o.gpu === undefined ? '' : `\n    nvidia.com/gpu: "${o.gpu}"`
  return `apiVersion: v1
kind: Node
metadata:
  name: ${name}
  labels:
${labels}
spec:
${o.taints ?? '  taints: []'}
status:
  capacity:
    cpu: "${o.cpu ?? '4'}"
    memory: 16Gi
    pods: "110"${gpu}
  allocatable:
    cpu: "${o.cpu ?? '4'}"
    memory: 15Gi
    pods: "110"${gpu}
  conditions:
  - type: Ready
    status: "${o.ready ?? 'True'}"
    reason: KubeletReady
    message: fake node
    lastHeartbeatTime: "2024-01-01T00:00:00Z"
    lastTransitionTime: "2024-01-01T00:00:00Z"
`
}

function podView(obj: Record<string, unknown>): PodView {
  const { pod } = extractPod(obj)
  if (pod === undefined) throw new Error('not a pod')
  if (pod.object.namespace === undefined) pod.object = { ...pod.object, namespace: 'default' }
  return pod
}

const pod = (spec: Record<string, unknown>, namespace = 'default'): PodView =>
  podView({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'probe', namespace }, spec: { containers: [{ name: 'app', image: 'registry.example.com/app:1.0.0' }], ...spec } })

const cluster = await startCluster()
t.teardown(() => cluster.stop())
const front = await relay(cluster.port)
const handles: LiveClusterViewHandle[] = []
t.teardown(async () => {
  for (const h of handles) await h.stop()
  await front.down()
})

const logs: string[] = []
const logger = {
  info: (_: object, m: string) => logs.push(`info ${m}`),
  warn: (_: object, m: string) => logs.push(`warn ${m}`),
  error: (o: object, m: string) => logs.push(`error ${m} ${JSON.stringify(o)}`),
}
const live = startLiveClusterView({
  kubeConfig: await kubeConfigVia(cluster.kubeconfigPath, `https://127.0.0.1:${front.port}`),
  logger,
  staleAfterMs: 1500,
  retryMaxMs: 300,
  resyncAfterMs: 0,
})
handles.push(live)
const view: ClusterView = live.view

t.test('the view syncs against the real API server', async (t) => {
  t.equal(view.synced, false)
  await Promise.race([live.ready, new Promise((_, reject) => setTimeout(() => reject(new Error(`not ready: ${JSON.stringify(live.status())}`)), 30_000))])
  t.equal(view.synced, true)
  t.same(live.status().filter((s) => s.unavailable !== undefined || !s.healthy), [], 'every kind listed and healthy as admin')
  t.ok(view.serviceAccount('default', 'default') ?? true, 'ServiceAccounts are listed')
})

t.test('nodes, taints, readiness and allocatable follow kubectl', async (t) => {
  await ok(cluster, ['apply', '-f', '-'], [
    node('n1', { labels: { disktype: 'hdd', 'topology.kubernetes.io/zone': 'a' } }),
    node('n2', { labels: { disktype: 'hdd', 'topology.kubernetes.io/zone': 'b' } }),
    node('gpu-1', { labels: { accelerator: 't4' }, cpu: '8', gpu: '1', taints: '  taints:\n  - key: dedicated\n    value: gpu\n    effect: NoSchedule' }),
    node('down', { labels: { disktype: 'nvme' }, ready: 'False' }),
  ].join('---\n'))
  // TaintNodesByCondition gives every new node the not-ready taint; the healthy ones lose it, as the node lifecycle would do.
  for (const n of ['n1', 'n2', 'gpu-1']) {
    await cluster.kubectl(['taint', 'nodes', n, 'node.kubernetes.io/not-ready:NoSchedule-'])
  }
  await waitFor('four nodes, three of them untainted', () => {
    const ns = view.nodes()
    return ns.length === 4 && ['n1', 'n2'].every((n) => view.node(n)?.taints.length === 0) && view.node('gpu-1')?.taints.length === 1
  })
  const gpu = view.node('gpu-1')
  t.same(gpu?.taints, [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }])
  t.equal(gpu?.allocatable?.get('nvidia.com/gpu'), 1)
  t.equal(gpu?.allocatable?.get('cpu'), 8000)
  t.equal(view.node('down')?.ready, false)

  const ssd = pod({ nodeSelector: { disktype: 'ssd' } })
  const r = schedule(ssd, view)
  t.equal(r?.blockedAt, 'selector')
  t.equal(r && countedReasons(r, 0), '0/4 nodes eligible: 4 missing label disktype=ssd')
  t.equal(schedule(pod({ nodeSelector: { accelerator: 't4' } }), view)?.blockedAt, 'taints')
  t.equal(schedule(pod({ nodeSelector: { disktype: 'nvme' } }), view)?.blockedAt, 'ready')
  t.match(
    countedReasons(schedule(pod({ nodeSelector: { disktype: 'nvme' } }), view) ?? ({} as never), 0),
    /1 NotReady/,
  )
  const big = pod({ containers: [{ name: 'app', image: 'registry.example.com/app:1.0.0', resources: { requests: { cpu: '32' } } }] })
  t.equal(schedule(big, view)?.blockedAt, 'fits')

  // Adding and deleting a node changes the verdict, without restarting anything.
  await ok(cluster, ['apply', '-f', '-'], node('fast', { labels: { disktype: 'ssd' } }))
  await cluster.kubectl(['taint', 'nodes', 'fast', 'node.kubernetes.io/not-ready:NoSchedule-'])
  await waitFor('the ssd node is schedulable', () => schedule(ssd, view)?.blockedAt === undefined)
  t.pass('a new ssd node makes the pod schedulable')
  await ok(cluster, ['cordon', 'fast'])
  await waitFor('the ssd node is cordoned', () => schedule(ssd, view)?.blockedAt === 'ready')
  t.pass('cordoning it blocks the pod again (no-ready-node)')
  await ok(cluster, ['delete', 'node', 'fast'])
  await waitFor('the ssd node is gone', () => view.node('fast') === undefined)
  t.equal(schedule(ssd, view)?.blockedAt, 'selector')
})

t.test('quotas with status, LimitRanges, ConfigMap keys and Secret names', async (t) => {
  await ok(cluster, ['create', 'namespace', 'team-a'])
  await ok(cluster, ['apply', '-f', '-'], `apiVersion: v1
kind: ResourceQuota
metadata:
  name: compute
  namespace: team-a
spec:
  hard:
    requests.cpu: "2"
    limits.memory: 4Gi
    pods: "10"
---
apiVersion: v1
kind: LimitRange
metadata:
  name: defaults
  namespace: team-a
spec:
  limits:
  - type: Container
    default:
      memory: 512Mi
    defaultRequest:
      memory: 256Mi
      cpu: 250m
    max:
      memory: 1Gi
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
  namespace: team-a
data:
  url: https://example.com
---
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: team-a
stringData:
  password: hunter2
`)
  // No quota controller runs: give the quota its status, as the controller would.
  await ok(cluster, ['patch', 'resourcequota', 'compute', '-n', 'team-a', '--subresource=status', '--type=merge', '-p',
    JSON.stringify({ status: { hard: { 'requests.cpu': '2', 'limits.memory': '4Gi', pods: '10' }, used: { 'requests.cpu': '0', 'limits.memory': '0', pods: '0' } } })])
  await waitFor('the quota status', () => view.resourceQuotas('team-a')[0]?.used.get('pods') !== undefined)
  const lr = view.limitRanges('team-a')[0]
  t.equal(lr?.items[0]?.default.get('memory')?.text, '512Mi')
  t.same([...(view.configMap('team-a', 'app-config')?.keys ?? [])], ['url'])
  t.same(view.secret('team-a', 'db'), { name: 'db' }, 'the Secret is known by name only')

  // The API server counts admitted pods in status.used; the view follows.
  await ok(cluster, ['run', 'sleeper', '-n', 'team-a', '--image=registry.example.com/sleeper:1.0.0', '--restart=Never', '--overrides',
    JSON.stringify({ spec: { nodeName: 'n1', containers: [{ name: 'sleeper', image: 'registry.example.com/sleeper:1.0.0', resources: { requests: { cpu: '1500m' } } }] } })])
  await waitFor('used follows the admitted pod', () => view.resourceQuotas('team-a')[0]?.used.get('requests.cpu')?.text === '1500m')
  await waitFor('the pod is counted on its node', () => view.requestedOn('n1')?.get('cpu') === 1500)
  t.equal(view.pods('team-a').length, 1)

  // The rules, through the engine, as serve would run them.
  const policy = await loadDefaultPolicy(RULES)
  const deploy = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'api', namespace: 'team-a' },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'api' } },
      template: {
        metadata: { labels: { app: 'api' } },
        spec: {
          nodeSelector: { disktype: 'ssd' },
          containers: [{ name: 'api', image: 'registry.example.com/api:1.0.0', envFrom: [{ configMapRef: { name: 'missing-env' } }] }],
        },
      },
    },
  }
  const e = evaluateObject(deploy, { policy, rules: RULES, cluster: view })
  const byRule = new Map(e.findings.map((f) => [f.rule, f]))
  t.match(byRule.get('node-selector-unsatisfiable')?.message ?? '', /0\/4 nodes eligible: 4 missing label disktype=ssd/)
  t.match(byRule.get('quota-exceeded')?.message ?? '', /requests\.cpu would reach 2250m of 2 in ResourceQuota "compute" of namespace "team-a" \(1\.5 used, 3 pods × 250m more\)/)
  t.match(byRule.get('configmap-missing')?.message ?? '', /ConfigMap "missing-env", which does not exist in namespace "team-a" in the cluster/)
  t.equal(byRule.get('quota-requires-limits'), undefined, 'the LimitRange defaults fill what the quota requires')
})

t.test('pod-preflight snapshot writes what --cluster-state reads', async (t) => {
  const out = join(cluster.dir, 'snapshot.yaml')
  const io = memoryIO('', {})
  const code = await main(['snapshot', '--kubeconfig', cluster.kubeconfigPath, '-o', out], io)
  t.equal(code, 0, io.err())
  t.match(io.err(), /4 Nodes/)
  const text = await readFile(out, 'utf8')
  t.notOk(text.includes('hunter2'), 'no Secret data in the file')
  t.notOk(text.includes('https://example.com'), 'no ConfigMap values in the file')
  const { view: saved, errors } = await loadClusterStateFiles([out])
  t.same(errors, [])
  t.same(saved.nodes().map((n) => n.name), view.nodes().map((n) => n.name))
  t.same(saved.resourceQuotas('team-a')[0]?.used.get('requests.cpu')?.text, '1500m')
  t.same([...(saved.configMap('team-a', 'app-config')?.keys ?? [])], ['url'])
  t.ok(saved.secret('team-a', 'db'))
  t.equal(saved.knows('PersistentVolumeClaim', 'team-a'), true, 'captured, though there is none')
  const p = pod({ nodeSelector: { disktype: 'ssd' } })
  t.same(schedule(p, saved)?.reasons, schedule(p, view)?.reasons, 'the same verdict from the file as from the live view')
})

t.test('synced turns false while the API server is unreachable, and recovers with what changed meanwhile', async (t) => {
  t.equal(view.synced, true)
  await front.down()
  await waitFor('stale', () => !view.synced, 15_000)
  t.pass('stale once the watches have been down longer than staleAfterMs')
  const policy = await loadDefaultPolicy(RULES)
  const e = evaluateObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x', namespace: 'default' }, spec: { nodeSelector: { disktype: 'ssd' }, containers: [{ name: 'a', image: 'registry.example.com/a:1.0.0' }] } }, { policy, rules: RULES, cluster: view })
  t.notOk(e.findings.some((f) => f.rule === 'node-selector-unsatisfiable'), 'no verdict on stale data')
  t.ok(e.skipped.some((s) => s.rule === 'node-selector-unsatisfiable' && /not synced/.test(s.reason)), 'the skip is said')
  // Changed while the view cannot see it.
  await ok(cluster, ['apply', '-f', '-'], node('while-away', { labels: { disktype: 'ssd' } }))
  await front.up()
  await waitFor('synced again', () => view.synced, 30_000)
  await waitFor('the node created meanwhile', () => view.node('while-away') !== undefined, 30_000)
  t.pass('synced again, and the watch caught up from its resourceVersion')
  t.ok(logs.some((l) => l.startsWith('warn cluster view is stale')), 'the staleness was logged')
})

t.test('the ClusterRole of the README is enough; without Secrets the view still syncs', async (t) => {
  await ok(cluster, ['apply', '-f', '-'], `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: pod-preflight-cluster-view
rules:
- apiGroups: [""]
  resources: [nodes, resourcequotas, limitranges, serviceaccounts, persistentvolumeclaims, configmaps, services, pods]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: pod-preflight-secret-names
rules:
- apiGroups: [""]
  resources: [secrets]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: pod-preflight-cluster-view
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pod-preflight-cluster-view }
subjects:
- { kind: ServiceAccount, name: pod-preflight, namespace: pod-preflight }
- { apiGroup: rbac.authorization.k8s.io, kind: User, name: no-secrets }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: pod-preflight-secret-names
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pod-preflight-secret-names }
subjects:
- { kind: ServiceAccount, name: pod-preflight, namespace: pod-preflight }
`)
  const sa = await cluster.serviceAccountKubeconfig('pod-preflight', 'pod-preflight')
  const full = startLiveClusterView({ kubeConfig: await kubeConfigVia(sa.kubeconfigPath), retryMaxMs: 300 })
  handles.push(full)
  await full.ready
  t.same(full.status().filter((s) => s.unavailable !== undefined), [], 'list and watch on these resources is all the view needs')
  t.ok(full.view.secret('team-a', 'db'), 'Secret names with list/watch only (no get)')
  const denied = await sa.kubectl(['get', 'secret', 'db', '-n', 'team-a'])
  t.not(denied.code, 0, 'and the role cannot get a Secret')

  const user = await cluster.userKubeconfig('no-secrets')
  const logs2: string[] = []
  const partial = startLiveClusterView({
    kubeConfig: await kubeConfigVia(user.kubeconfigPath),
    retryMaxMs: 300,
    logger: { info: (_: object, m: string) => logs2.push(m), warn: () => undefined, error: (_: object, m: string) => logs2.push(`error ${m}`) },
  })
  handles.push(partial)
  await partial.ready
  t.equal(partial.view.synced, true, 'synced without Secrets')
  t.equal(partial.view.knows('Secret', 'team-a'), false, 'Secrets are unknown, so secret rules stay silent')
  t.equal(partial.view.knows('ConfigMap', 'team-a'), true)
  t.match(logs2.join('\n'), /cannot list secrets \(HTTP 403 5 times in a row over \d+ s\)/)
  t.notOk(logs2.some((l) => l.startsWith('error')), 'leaving Secrets out is expected, not an error')
  const quiet = startLiveClusterView({ kubeConfig: await kubeConfigVia(user.kubeconfigPath), kinds: { Secret: false } })
  handles.push(quiet)
  await quiet.ready
  t.same(quiet.status().map((s) => s.kind).includes('Secret'), false, 'or leave Secrets out altogether')
})
