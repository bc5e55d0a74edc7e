// End-to-end: the in-cluster companion against a real kube-apiserver. There is no kubelet, so
// the test plays its part: it patches pod statuses into the failures a kubelet would report,
// and checks that the companion records one PreflightDiagnosis event per failure.
import t from 'tap'
import { KubeConfig } from '@kubernetes/client-node'
import { startCompanion } from '../../src/analyzer/companion.js'
import type { CauseId } from '../../src/analyzer/causes.js'
import { startCluster, type TestCluster } from './harness/cluster.js'

t.setTimeout(300_000)

const NS = 'e2e-companion'
const NODE = 'e2e-node-1'

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

interface EventItem {
  reason?: string
  type?: string
  message?: string
  source?: { component?: string }
  reportingComponent?: string
  involvedObject?: { name?: string; kind?: string; fieldPath?: string }
}

async function diagnosisEvents(cluster: TestCluster): Promise<EventItem[]> {
  const r = await cluster.kubectl(['get', 'events', '-n', NS, '-o', 'json'])
  if (r.code !== 0) throw new Error(`kubectl get events failed: ${r.stderr}`)
  const list = JSON.parse(r.stdout) as { items: EventItem[] }
  return list.items.filter((e) => e.reason === 'PreflightDiagnosis')
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(250)
  }
}

async function patchStatus(cluster: TestCluster, pod: string, status: unknown): Promise<void> {
  const r = await cluster.kubectl(['patch', 'pod', pod, '-n', NS, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })])
  if (r.code !== 0) throw new Error(`kubectl patch ${pod} failed: ${r.stderr}`)
}

const T0 = '2024-05-13T10:00:00Z'
const T1 = '2024-05-13T10:05:00Z'

function crashLoop(image: string, restartCount: number, last: Record<string, unknown>): Record<string, unknown> {
  return {
    phase: 'Running',
    conditions: [{ type: 'PodScheduled', status: 'True' }, { type: 'Ready', status: 'False', reason: 'ContainersNotReady' }],
    containerStatuses: [{
      name: 'app',
      image,
      imageID: '',
      ready: false,
      restartCount,
      state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container' } },
      lastState: { terminated: { startedAt: T0, finishedAt: T1, ...last } },
    }],
  }
}

t.test('the companion records one PreflightDiagnosis event per failure', async (t) => {
  const cluster = await startCluster()
  t.teardown(() => cluster.stop())

  await cluster.applyYaml(`apiVersion: v1
kind: Namespace
metadata:
  name: ${NS}
---
apiVersion: v1
kind: Node
metadata:
  name: ${NODE}
  labels:
    kubernetes.io/hostname: ${NODE}
---
apiVersion: v1
kind: Pod
metadata:
  name: orders
  namespace: ${NS}
spec:
  nodeName: ${NODE}
  containers:
  - name: app
    image: registry.example.com/shop/orders:2.3.1
    command: ["java", "-Xmx1g", "-jar", "/app/orders.jar"]
    env:
    - name: DB_PASSWORD
      value: not-for-logs
    resources:
      limits:
        memory: 768Mi
---
apiVersion: v1
kind: Pod
metadata:
  name: toolbox
  namespace: ${NS}
spec:
  nodeName: ${NODE}
  containers:
  - name: app
    image: busybox:1.36
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: ${NS}
spec:
  nodeName: ${NODE}
  containers:
  - name: app
    image: nginx:1.27-alpine-slim
`)

  const kc = new KubeConfig()
  kc.loadFromFile(cluster.kubeconfigPath)
  const logs: { level: string; obj: object; msg: string }[] = []
  const logger = {
    info: (obj: object, msg: string) => logs.push({ level: 'info', obj, msg }),
    warn: (obj: object, msg: string) => logs.push({ level: 'warn', obj, msg }),
    error: (obj: object, msg: string) => logs.push({ level: 'error', obj, msg }),
  }
  const seen: CauseId[] = []
  const companion = startCompanion({ kubeConfig: kc, namespace: NS, logger, onDiagnosis: (cause) => seen.push(cause), restartDelayMs: 500 })
  t.teardown(() => companion.stop())
  await companion.ready
  t.same(await diagnosisEvents(cluster), [], 'pending pods without failures give no events')

  // An OOM kill in a restart loop.
  await patchStatus(cluster, 'orders', crashLoop('registry.example.com/shop/orders:2.3.1', 1, { exitCode: 137, reason: 'OOMKilled' }))
  // exit 0 of a container without a foreground process.
  await patchStatus(cluster, 'toolbox', crashLoop('busybox:1.36', 3, { exitCode: 0, reason: 'Completed' }))
  // an image tag that does not exist.
  await patchStatus(cluster, 'web', {
    phase: 'Pending',
    containerStatuses: [{
      name: 'app', image: 'nginx:1.27-alpine-slim', imageID: '', ready: false, restartCount: 0,
      state: { waiting: { reason: 'ErrImagePull', message: 'rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/nginx:1.27-alpine-slim": failed to resolve reference "docker.io/library/nginx:1.27-alpine-slim": docker.io/library/nginx:1.27-alpine-slim: not found' } },
      lastState: {},
    }],
  })

  const events = await waitFor('three diagnosis events', async () => {
    const e = await diagnosisEvents(cluster)
    return e.length >= 3 ? e : undefined
  })
  const byPod = (name: string) => events.filter((e) => e.involvedObject?.name === name)
  for (const [pod, cause] of [['orders', 'oom-killed'], ['toolbox', 'exit-no-foreground-process'], ['web', 'image-not-found']] as const) {
    const list = byPod(pod)
    t.equal(list.length, 1, `${pod}: one event`)
    const e = list[0]
    t.match(e?.message ?? '', new RegExp(`^\\[${cause}\\] `), `${pod}: ${cause}`)
    t.equal(e?.type, 'Warning')
    t.equal(e?.source?.component, 'pod-preflight')
    t.equal(e?.reportingComponent, 'pod-preflight')
    t.equal(e?.involvedObject?.kind, 'Pod')
    t.equal(e?.involvedObject?.fieldPath, 'spec.containers{app}')
  }
  t.match(byPod('orders')[0]?.message ?? '', /768Mi limit.*-Xmx1g/, 'the summary names the limit and the heap flag')

  // The same OOM again, two restarts later, and the pull error turning into a back-off: no new events.
  await patchStatus(cluster, 'orders', crashLoop('registry.example.com/shop/orders:2.3.1', 3, { exitCode: 137, reason: 'OOMKilled' }))
  await patchStatus(cluster, 'web', {
    phase: 'Pending',
    containerStatuses: [{ name: 'app', image: 'nginx:1.27-alpine-slim', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "nginx:1.27-alpine-slim"' } }, lastState: {} }],
  })
  await sleep(3_000)
  const again = await diagnosisEvents(cluster)
  t.equal(again.length, 3, `a failure recurring in its restart loop is not recorded again: ${again.map((e) => e.message ?? '').join(' | ')}`)

  // A different cause for the same container is a new failure.
  await patchStatus(cluster, 'orders', crashLoop('registry.example.com/shop/orders:2.3.1', 4, { exitCode: 1, reason: 'Error' }))
  const after = await waitFor('the app-error event', async () => {
    const e = (await diagnosisEvents(cluster)).filter((x) => x.involvedObject?.name === 'orders')
    return e.length >= 2 ? e : undefined
  })
  t.same(after.map((e) => /^\[([a-z-]+)\]/.exec(e.message ?? '')?.[1]).sort(), ['app-error', 'oom-killed'])
  await sleep(2_000)
  t.equal((await diagnosisEvents(cluster)).length, 4, 'exactly one event per distinct failure')
  t.same(seen.sort(), ['app-error', 'exit-no-foreground-process', 'image-not-found', 'oom-killed'])

  // Deleted pods are forgotten; the companion keeps no secrets in its logs.
  const del = await cluster.kubectl(['delete', 'pod', 'toolbox', '-n', NS, '--grace-period=0', '--force', '--wait=false'])
  t.equal(del.code, 0, del.stderr)
  t.notMatch(JSON.stringify(logs), /not-for-logs/, 'env values never reach the log')
  t.same(logs.filter((l) => l.level === 'error'), [], `no errors logged: ${JSON.stringify(logs)}`)
  t.ok(logs.filter((l) => l.msg === 'diagnosis recorded').length === 4)
})
