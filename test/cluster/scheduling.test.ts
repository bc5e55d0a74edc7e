import t from 'tap'
import { eligibleNodes, schedule, tolerates, requirementMatches, termMatches, countedReasons, topologyDomains } from '../../src/cluster/scheduling.js'
import { ClusterStore } from '../../src/cluster/store.js'
import { nodeInfo } from '../../src/cluster/objects.js'
import { bare, node, pod, view } from './helpers.js'

t.test('tolerations match taints as v1.Toleration.ToleratesTaint does', async (t) => {
  const taint = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }
  const cases: [Record<string, string>, boolean][] = [
    [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }, true],
    [{ key: 'dedicated', value: 'gpu' }, true], // operator defaults to Equal, empty effect matches all
    [{ key: 'dedicated', operator: 'Equal', value: 'cpu' }, false],
    [{ key: 'dedicated', operator: 'Exists' }, true],
    [{ operator: 'Exists' }, true], // empty key + Exists: everything
    [{ operator: 'Exists', effect: 'NoExecute' }, false],
    [{ key: 'other', operator: 'Exists' }, false],
    [{ key: 'dedicated', operator: 'Sometimes' }, false],
  ]
  for (const [tol, want] of cases) t.equal(tolerates(tol, taint), want, JSON.stringify(tol))
})

t.test('node selector requirements: all operators', async (t) => {
  const cases: [Record<string, unknown>, boolean, string | undefined, boolean][] = [
    [{ operator: 'In', values: ['a', 'b'] }, true, 'b', true],
    [{ operator: 'In', values: ['a'] }, false, undefined, false],
    [{ operator: 'NotIn', values: ['a'] }, false, undefined, true],
    [{ operator: 'NotIn', values: ['a'] }, true, 'a', false],
    [{ operator: 'Exists' }, true, '', true],
    [{ operator: 'DoesNotExist' }, true, 'x', false],
    [{ operator: 'Gt', values: ['8'] }, true, '16', true],
    [{ operator: 'Gt', values: ['8'] }, true, '8', false],
    [{ operator: 'Lt', values: ['8'] }, true, '-1', true],
    [{ operator: 'Gt', values: ['8'] }, true, 'sixteen', false],
    [{ operator: 'Gt', values: ['8', '9'] }, true, '16', false],
    [{ operator: 'Gt', values: ['8'] }, false, undefined, false],
    [{ operator: 'Near', values: ['8'] }, true, '8', false],
  ]
  for (const [r, has, value, want] of cases) t.equal(requirementMatches(r, has, value), want, `${JSON.stringify(r)} ${value}`)
  const n = nodeInfo({ metadata: { name: 'n1', labels: { zone: 'a' } } })
  if (n === undefined) throw new Error('node')
  t.equal(termMatches({}, n), false, 'an empty term matches nothing')
  t.equal(termMatches({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }, n), true)
  t.equal(termMatches({ matchFields: [{ key: 'metadata.uid', operator: 'In', values: ['n1'] }] }, n), false, 'only metadata.name')
  t.equal(termMatches({ matchFields: [{ key: 'metadata.name', operator: 'Exists' }] }, n), false, 'only In and NotIn on fields')
})

t.test('excluded nodes are counted by their first reason, and the blocking filter is named', async (t) => {
  const v = view([
    ...Array.from({ length: 8 }, (_, i) => node(`plain-${i}`)),
    ...Array.from({ length: 3 }, (_, i) => node(`gpu-${i}`, { labels: { disktype: 'ssd' }, taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] })),
    node('cordoned', { labels: { disktype: 'ssd' }, unschedulable: true }),
  ])
  const p = bare({ nodeSelector: { disktype: 'ssd' }, containers: [{ name: 'a', image: 'a' }] })
  const r = schedule(p, v)
  t.equal(r?.blockedAt, 'ready')
  t.equal(countedReasons(r ?? ({} as never), 0), '0/12 nodes eligible: 8 missing label disktype=ssd, 3 untolerated taint dedicated=gpu:NoSchedule, 1 cordoned')
  t.same(r?.passed, { selector: 4, affinity: 4, taints: 1, ready: 0, fits: 0, free: 0 })
  t.equal(schedule(p, v), r, 'cached per pod and revision')
})

t.test('NotReady and condition taints belong to readiness, not to the taint rule', async (t) => {
  const v = view([
    node('down', { ready: 'Unknown', taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }] }),
    node('unreachable', { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] }),
  ])
  const r = schedule(bare({ containers: [{ name: 'a', image: 'a' }] }), v)
  t.equal(r?.blockedAt, 'ready')
  t.same(r?.reasons, [['NotReady', 2]])
  const everything = schedule(bare({ tolerations: [{ operator: 'Exists' }], containers: [{ name: 'a', image: 'a' }] }), v)
  t.equal(everything?.blockedAt, undefined, 'a pod tolerating everything may go there')
})

t.test('DaemonSet pods tolerate cordoned nodes, as the DaemonSet controller makes them', async (t) => {
  const v = view([node('c', { unschedulable: true, taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] })])
  const ds = pod({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'ds', namespace: 'default' },
    spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'a', image: 'a' }] } } },
  })
  t.equal(schedule(ds, v)?.blockedAt, undefined)
  t.equal(schedule(bare({ containers: [{ name: 'a', image: 'a' }] }), v)?.blockedAt, 'ready')
})

t.test('resources: too small, counted per resource; free room from the pods on the node', async (t) => {
  const objects: unknown[] = [
    node('small', { cpu: '2', memory: '4Gi' }),
    node('big', { cpu: '8', memory: '32Gi', extra: { 'nvidia.com/gpu': '1' } }),
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'hog', namespace: 'x' },
      spec: { nodeName: 'big', containers: [{ name: 'a', image: 'a', resources: { requests: { cpu: '7' } } }] },
      status: { phase: 'Running' },
    },
  ]
  const v = view(objects)
  const r = schedule(bare({ containers: [{ name: 'a', image: 'a', resources: { requests: { cpu: '3', memory: '8Gi' } } }] }), v)
  t.equal(r?.blockedAt, 'free')
  t.same(r?.reasons, [['not enough free cpu', 1], ['too small for cpu', 1], ['too small for memory', 1]])
  const gpu = schedule(bare({ containers: [{ name: 'a', image: 'a', resources: { limits: { 'nvidia.com/gpu': '2' } } }] }), v)
  t.equal(gpu?.blockedAt, 'fits')
  t.same([...(gpu?.tooSmall ?? [])], [['nvidia.com/gpu', 2]], 'a node without the extended resource has none of it')
  const onePod = bare({ containers: [{ name: 'a', image: 'a', resources: { requests: { cpu: '500m' } } }] })
  const one = schedule(onePod, v)
  t.equal(one?.blockedAt, undefined)
  t.equal(one?.complete, false, 'a verdict stops at the first node that takes the pod')
  const oneFull = schedule(onePod, v, 'full')
  t.equal(oneFull?.complete, true)
  t.same(oneFull?.fitting.map((n) => n.name), ['big', 'small'])
  t.same(oneFull?.passed, { selector: 2, affinity: 2, taints: 2, ready: 2, fits: 2, free: 2 })
  t.equal(schedule(onePod, v), oneFull, 'a full result answers later verdict questions too')
})

t.test('no verdict without nodes, or when nodeName bypasses the scheduler', async (t) => {
  t.equal(schedule(bare({ containers: [{ name: 'a', image: 'a' }] }), view([])), undefined)
  t.equal(schedule(bare({ nodeName: 'x', containers: [{ name: 'a', image: 'a' }] }), view([node('a')])), undefined)
})

t.test('the cache follows the view: a new node changes the verdict', async (t) => {
  const store = new ClusterStore({ source: 'test' })
  const n1 = nodeInfo(node('a'))
  if (n1 === undefined) throw new Error('node')
  store.replace('Node', [{ item: { kind: 'Node', info: n1 }, namespace: '' }])
  const p = bare({ nodeSelector: { disktype: 'ssd' }, containers: [{ name: 'a', image: 'a' }] })
  t.equal(schedule(p, store)?.blockedAt, 'selector')
  const n2 = nodeInfo(node('b', { labels: { disktype: 'ssd' } }))
  if (n2 === undefined) throw new Error('node')
  store.upsert({ kind: 'Node', info: n2 }, '')
  t.equal(schedule(p, store)?.blockedAt, undefined)
  store.remove('Node', '', 'b')
  t.equal(schedule(p, store)?.blockedAt, 'selector')
})

t.test('topology domains among the nodes the pod fits on, stopping when there are enough', async (t) => {
  const v = view([
    node('a1', { labels: { zone: 'a' } }),
    node('a2', { labels: { zone: 'a' } }),
    node('b1', { labels: { zone: 'b' }, cpu: '1' }),
    node('c1', { labels: { zone: 'c' }, unschedulable: true }),
    node('d1', { labels: { zone: 'd' } }),
  ])
  const p = bare({ containers: [{ name: 'a', image: 'a', resources: { requests: { cpu: '2' } } }] })
  const all = topologyDomains(p, v, 'zone', 10)
  t.same([...(all?.values ?? [])].sort(), ['a', 'd'], 'b1 is too small, c1 cordoned')
  t.equal(all?.nodes, 3)
  t.equal(topologyDomains(p, v, 'zone', 1)?.nodes, 1, 'stops once there are enough')
  t.equal(topologyDomains(p, v, 'rack', 5)?.unlimited, true, 'a node without the key does not limit')
})

t.test('eligible nodes: what a full walk counts as past readiness, without the resource filters', async (t) => {
  // A small deterministic generator: labels, taints, readiness, cordons and sizes vary per node.
  let seed = 7
  const next = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return Math.floor(seed / 65536) % n
  }
  const taintsOf = [[], [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }], [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }], [{ key: 'spot', effect: 'PreferNoSchedule' }]]
  const nodes = Array.from({ length: 60 }, (_, i) =>
    node(`n-${i}`, {
      labels: { zone: `z-${next(3)}`, ...(next(2) === 0 ? { disktype: 'ssd' } : {}) },
      taints: taintsOf[next(taintsOf.length)] ?? [],
      ready: next(5) === 0 ? 'False' : 'True',
      unschedulable: next(7) === 0,
      cpu: String(1 + next(8)),
    }),
  )
  const running = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'hog', namespace: 'x' },
    spec: { nodeName: 'n-3', containers: [{ name: 'a', image: 'a', resources: { requests: { cpu: '1' } } }] },
    status: { phase: 'Running' },
  }
  const v = view([...nodes, running])
  const container = { name: 'a', image: 'a', resources: { requests: { cpu: '3' } } }
  const specs: Record<string, unknown>[] = [
    { containers: [container] },
    { nodeSelector: { disktype: 'ssd' }, containers: [container] },
    { nodeSelector: { disktype: 'ssd', zone: 'z-1' }, tolerations: [{ key: 'dedicated', operator: 'Exists' }], containers: [container] },
    { tolerations: [{ operator: 'Exists' }], containers: [container] },
    { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['z-0'] }] }] } } }, containers: [container] },
    { nodeSelector: { disktype: 'nvme' }, containers: [container] },
  ]
  for (const [i, spec] of specs.entries()) {
    const want = schedule(bare(spec), v, 'full')?.passed.ready
    t.ok(want !== undefined, `spec ${i}: a full walk counts`)
    t.equal(eligibleNodes(bare(spec), v), want, `spec ${i}: ${want ?? 'none'} eligible, as the full walk counts`)
    const p = bare(spec)
    t.equal(eligibleNodes(p, v), eligibleNodes(p, v), 'asked twice, the same')
    const ds = pod({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'ds', namespace: 'default' },
      spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec } },
    })
    t.equal(eligibleNodes(ds, v), schedule(ds, v, 'full')?.passed.ready, `spec ${i} in a DaemonSet (cordons tolerated)`)
  }
  t.equal(eligibleNodes(bare({ containers: [container] }), view([])), undefined, 'no nodes known: undefined, as schedule')
  t.equal(eligibleNodes(bare({ nodeName: 'n-1', containers: [container] }), v), undefined, 'nodeName bypasses the scheduler')
})
