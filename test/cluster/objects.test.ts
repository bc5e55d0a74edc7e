import t from 'tap'
import { nodeInfo, quotaInfo, limitRangeInfo, configMapInfo, secretInfo, podInfo, serviceInfo, serviceAccountInfo } from '../../src/cluster/objects.js'
import type { ShapeError } from '../../src/engine/shape.js'

t.test('a Node keeps labels, blocking taints, readiness and allocatable in scheduler units', async (t) => {
  const n = nodeInfo({
    metadata: { name: 'n1', labels: { a: 'b' } },
    spec: {
      unschedulable: true,
      taints: [
        { key: 'x', value: 'y', effect: 'NoSchedule' },
        { key: 'soft', effect: 'PreferNoSchedule' },
        { key: 'evict', effect: 'NoExecute' },
      ],
    },
    status: {
      allocatable: { cpu: '3920m', memory: '15Gi', 'nvidia.com/gpu': '2', pods: '110', 'ephemeral-storage': '1.5Ki' },
      conditions: [{ type: 'Ready', status: 'False' }],
      images: [{ names: ['huge'], sizeBytes: 1 }],
    },
  })
  t.ok(n)
  t.same(n?.labels, { a: 'b' })
  t.same(n?.taints, [
    { key: 'x', value: 'y', effect: 'NoSchedule' },
    { key: 'evict', value: '', effect: 'NoExecute' },
  ])
  t.equal(n?.unschedulable, true)
  t.equal(n?.ready, false)
  t.same(Object.fromEntries(n?.allocatable ?? []), { cpu: 3920, memory: 15 * 2 ** 30, 'nvidia.com/gpu': 2, pods: 110, 'ephemeral-storage': 1536 })
  t.equal(nodeInfo({ metadata: { name: 'n2' }, status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } })?.ready, false)
  t.equal(nodeInfo({ metadata: { name: 'n3' } })?.ready, undefined, 'no Ready condition: unknown')
  t.equal(nodeInfo({ metadata: { name: 'n3' } })?.allocatable, undefined, 'no allocatable: unknown')
})

t.test('malformed objects are reported with their paths, never thrown', async (t) => {
  const errors: ShapeError[] = []
  const n = nodeInfo({ metadata: { name: 'bad' }, spec: { taints: 'none' }, status: { allocatable: { cpu: 'lots' } } }, errors)
  t.ok(n, 'the rest of the node is kept')
  t.same(errors.map((e) => e.path), ['spec.taints', 'status.allocatable.cpu'])
  const e2: ShapeError[] = []
  t.equal(nodeInfo({ metadata: {} }, e2), undefined)
  t.same(e2.map((e) => e.path), ['metadata.name'])
  t.equal(nodeInfo('nope', []), undefined)
})

t.test('a ResourceQuota: status.hard wins, spec.hard when there is no status yet', async (t) => {
  const q = quotaInfo({
    metadata: { name: 'q', namespace: 'ns' },
    spec: { hard: { 'requests.cpu': '20' }, scopes: ['NotBestEffort'], scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: ['high'] }] } },
    status: { hard: { 'requests.cpu': '10' }, used: { 'requests.cpu': '1500m' } },
  })
  t.equal(q?.hard.get('requests.cpu')?.text, '10')
  t.equal(q?.used.get('requests.cpu')?.text, '1500m')
  t.same(q?.scopes, ['NotBestEffort'])
  t.same(q?.scopeSelector, [{ scopeName: 'PriorityClass', operator: 'In', values: ['high'] }])
  const fresh = quotaInfo({ metadata: { name: 'q', namespace: 'ns' }, spec: { hard: { pods: '5' } } })
  t.equal(fresh?.hard.get('pods')?.text, '5')
  t.equal(fresh?.used.size, 0)
})

t.test('a LimitRange gets the API server defaulting of Container items', async (t) => {
  const lr = limitRangeInfo({
    metadata: { name: 'lr', namespace: 'ns' },
    spec: {
      limits: [
        { type: 'Container', max: { memory: '2Gi' }, min: { cpu: '100m' }, default: { cpu: '1' } },
        { type: 'Pod', max: { cpu: '4' } },
      ],
    },
  })
  const c = lr?.items[0]
  t.equal(c?.default.get('memory')?.text, '2Gi', 'default limit from max')
  t.equal(c?.defaultRequest.get('memory')?.text, '2Gi', 'default request from the default limit')
  t.equal(c?.defaultRequest.get('cpu')?.text, '1', 'default request from the default limit before min')
  t.equal(lr?.items[1]?.default.size, 0, 'Pod items are not defaulted')
})

t.test('ConfigMaps keep keys only; Secrets keep their name only', async (t) => {
  const cm = configMapInfo({ metadata: { name: 'c' }, data: { a: 'secret-ish value' }, binaryData: { b: 'AAAA' } })
  t.same([...(cm?.keys ?? [])], ['a', 'b'])
  t.notOk(JSON.stringify([...(cm?.keys ?? [])]).includes('secret-ish'), 'values are not kept')
  const s = secretInfo({ apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata: { name: 's', namespace: 'n' } })
  t.same(s, { name: 's' })
  t.same(secretInfo({ kind: 'Secret', metadata: { name: 's' }, data: { password: 'c2VjcmV0' } }), { name: 's' }, 'data is dropped')
})

t.test('ServiceAccounts and Services', async (t) => {
  t.same(serviceAccountInfo({ metadata: { name: 'sa' }, imagePullSecrets: [{ name: 'a' }, { name: '' }, {}] })?.imagePullSecrets, ['a'])
  const svc = serviceInfo({ metadata: { name: 'web' }, spec: { selector: {}, ports: [{ port: 80, targetPort: 'http' }, { name: 'x' }] } })
  t.equal(svc?.selector, undefined, 'an empty selector is no selector')
  t.same(svc?.ports, [{ name: undefined, port: 80, protocol: 'TCP', targetPort: 'http' }])
  t.equal(svc?.type, 'ClusterIP')
})

t.test('a Pod keeps its requests as the scheduler counts them, and finished pods are dropped', async (t) => {
  const p = podInfo({
    metadata: { name: 'p', namespace: 'ns', labels: { app: 'x' } },
    spec: {
      nodeName: 'n1',
      priorityClassName: 'high',
      overhead: { cpu: '100m' },
      initContainers: [
        { name: 'init', image: 'i', resources: { requests: { cpu: '2' } } },
        { name: 'sidecar', image: 's', restartPolicy: 'Always', resources: { requests: { cpu: '500m' } }, ports: [{ containerPort: 15001 }] },
      ],
      containers: [{ name: 'app', image: 'a', resources: { limits: { cpu: '1', memory: '1Gi' } }, ports: [{ name: 'http', containerPort: 8080 }] }],
    },
    status: { phase: 'Running' },
  })
  t.ok(p)
  // app 1 (request from limit) + sidecar 0.5 = 1.5 against init 2 (before the sidecar starts): 2; + 100m overhead.
  t.equal(p?.requests.get('cpu'), 2100)
  t.equal(p?.requests.get('memory'), 2 ** 30)
  t.equal(p?.requests.get('pods'), 1)
  t.equal(p?.limits.get('memory'), 2 ** 30)
  t.same(p?.ports.map((x) => x.containerPort), [15001, 8080])
  t.equal(p?.everyContainerDeclaresPorts, true)
  t.equal(p?.bestEffort, false)
  t.equal(p?.priorityClassName, 'high')
  t.equal(podInfo({ metadata: { name: 'done' }, spec: { containers: [] }, status: { phase: 'Succeeded' } }), undefined)
  const be = podInfo({ metadata: { name: 'be' }, spec: { containers: [{ name: 'a', image: 'a' }] } })
  t.equal(be?.bestEffort, true)
  t.equal(be?.everyContainerDeclaresPorts, false)
})
