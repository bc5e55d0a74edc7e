import t from 'tap'
import { mkdtemp, writeFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadClusterStateFiles, clusterViewFromText, CAPTURE_API_VERSION, CAPTURE_KIND } from '../../src/cluster/files.js'
import { ClusterStore } from '../../src/cluster/store.js'
import { podInfo } from '../../src/cluster/objects.js'

const dir = await mkdtemp(join(tmpdir(), 'pp-state-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))

const LIST = `apiVersion: v1
kind: List
metadata:
  resourceVersion: ""
items:
- apiVersion: v1
  kind: Node
  metadata:
    name: n1
    labels: { disktype: ssd }
  status:
    allocatable: { cpu: "4", memory: 16Gi }
- apiVersion: v1
  kind: ConfigMap
  metadata: { name: kube-root-ca.crt, namespace: team-a }
  data: { ca.crt: x }
- apiVersion: v1
  kind: ResourceQuota
  metadata: { name: q, namespace: team-a }
  spec: { hard: { pods: "10" } }
- apiVersion: apps/v1
  kind: Deployment
  metadata: { name: ignored, namespace: team-a }
`

t.test('a kubectl List, a multi-document file and JSON are read alike', async (t) => {
  await writeFile(join(dir, 'state.yaml'), LIST)
  await writeFile(join(dir, 'more.json'), JSON.stringify({ apiVersion: 'v1', kind: 'ServiceAccountList', items: [{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'team-b' } }] }))
  await writeFile(join(dir, 'multi.yaml'), 'apiVersion: v1\nkind: Secret\nmetadata: { name: s, namespace: team-b }\n---\napiVersion: v1\nkind: Namespace\nmetadata: { name: team-c }\n')
  const { view, errors } = await loadClusterStateFiles([join(dir, 'state.yaml'), join(dir, 'more.json'), join(dir, 'multi.yaml')])
  t.same(errors, [])
  t.equal(view.synced, true)
  t.equal(view.nodes().length, 1)
  t.equal(view.resourceQuotas('team-a').length, 1)
  t.same(view.summary.counts, { Node: 1, ConfigMap: 1, ResourceQuota: 1, ServiceAccount: 1, Secret: 1 })
  t.ok(view.serviceAccount('team-b', 'default'))
  t.ok(view.secret('team-b', 's'))
  // knows: a captured kind in a captured namespace only
  t.equal(view.knows('ConfigMap', 'team-a'), true)
  t.equal(view.knows('ConfigMap', 'team-b'), true, 'team-b is captured (its ServiceAccount), and ConfigMaps are captured')
  t.equal(view.knows('ConfigMap', 'team-c'), true, 'a Namespace object captures the namespace')
  t.equal(view.knows('ConfigMap', 'team-z'), false, 'nothing of team-z was captured')
  t.equal(view.knows('PersistentVolumeClaim', 'team-a'), false, 'no PVC at all in the files: not captured')
  t.equal(view.knows('Node'), true)
  t.equal(view.knows('Pod'), false)
})

t.test('problems name the file and line; malformed objects are left out', async (t) => {
  const { view, errors } = clusterViewFromText(
    'apiVersion: v1\nkind: Node\nmetadata:\n  name: bad\nstatus:\n  allocatable:\n    cpu: lots\n---\napiVersion: v1\nkind: Node\nmetadata: {}\n',
    'state.yaml',
  )
  t.same(
    errors.map((e) => [e.file, e.line, e.message]),
    [
      ['state.yaml', 7, 'Node bad: status.allocatable.cpu is not a valid quantity: "lots"'],
      ['state.yaml', 11, 'Node ?: metadata.name is missing'],
    ],
  )
  t.equal(view.nodes().length, 1)
  const missing = await loadClusterStateFiles([join(dir, 'nope.yaml')])
  t.match(missing.errors[0]?.message ?? '', /no such file/)
  await writeFile(join(dir, 'apps.yaml'), 'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: x }\n')
  const wrong = await loadClusterStateFiles([join(dir, 'apps.yaml')])
  t.match(wrong.errors[0]?.message ?? '', /no cluster state found/)
})

t.test('a snapshot marker declares kinds captured cluster-wide, even when none exist', async (t) => {
  const { view } = clusterViewFromText(
    `apiVersion: ${CAPTURE_API_VERSION}\nkind: ${CAPTURE_KIND}\ncapturedKinds: [Secret, PersistentVolumeClaim, Bogus]\n---\napiVersion: v1\nkind: List\nitems: []\n`,
  )
  t.equal(view.knows('Secret', 'anywhere'), true)
  t.equal(view.knows('PersistentVolumeClaim'), true)
  t.equal(view.knows('ConfigMap', 'anywhere'), false)
  t.same(view.summary.capturedKinds.sort(), ['PersistentVolumeClaim', 'Secret'])
})

t.test('the store keeps requests per node as pods come, change and go', async (t) => {
  const store = new ClusterStore({ source: 'test' })
  const mk = (name: string, nodeName: string | undefined, cpu: string) => {
    const p = podInfo({ metadata: { name, namespace: 'n' }, spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'c', resources: { requests: { cpu } } }] } })
    if (p === undefined) throw new Error('pod')
    return { kind: 'Pod' as const, info: p }
  }
  const r0 = store.revision
  store.upsert(mk('a', 'n1', '1'), 'n')
  store.upsert(mk('b', 'n1', '500m'), 'n')
  t.same(Object.fromEntries(store.requestedOn('n1') ?? []), { cpu: 1500, pods: 2 })
  store.upsert(mk('b', 'n1', '2'), 'n')
  t.same(Object.fromEntries(store.requestedOn('n1') ?? []), { cpu: 3000, pods: 2 }, 'an update replaces the old requests')
  store.upsert(mk('c', undefined, '9'), 'n')
  t.same(Object.fromEntries(store.requestedOn('n1') ?? []), { cpu: 3000, pods: 2 }, 'unscheduled pods hold nothing')
  store.remove('Pod', 'n', 'a')
  store.remove('Pod', 'n', 'b')
  t.equal(store.requestedOn('n1'), undefined)
  t.equal(store.pods('n').length, 1)
  t.ok(store.revision > r0)
  store.replace('Pod', [{ item: mk('d', 'n2', '1'), namespace: 'n' }])
  t.same(Object.fromEntries(store.requestedOn('n2') ?? []), { cpu: 1000, pods: 1 })
  t.same(store.pods('n').map((p) => p.name), ['d'])
})
