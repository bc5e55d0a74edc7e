import t from 'tap'
import { trimObject } from '../../src/cluster/trim.js'
import { toStateInfo } from '../../src/cluster/objects.js'
import type { StateKind } from '../../src/cluster/view.js'

const full: [StateKind, Record<string, unknown>][] = [
  ['Node', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n', labels: { a: 'b' }, annotations: { big: 'x'.repeat(1000) }, uid: 'u' }, spec: { taints: [{ key: 'k', effect: 'NoSchedule' }], podCIDR: '10.0.0.0/24' }, status: { allocatable: { cpu: '4' }, capacity: { cpu: '4' }, conditions: [{ type: 'Ready', status: 'True', message: 'kubelet is posting ready status', lastHeartbeatTime: 't' }], images: [{ names: ['a'], sizeBytes: 1 }] } }],
  ['ResourceQuota', { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q', namespace: 'n' }, spec: { hard: { pods: '1' }, scopes: ['BestEffort'] }, status: { hard: { pods: '1' }, used: { pods: '0' } } }],
  ['LimitRange', { apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'l', namespace: 'n' }, spec: { limits: [{ type: 'Container', max: { cpu: '1' } }] } }],
  ['ConfigMap', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'n' }, data: { url: 'https://internal.example.com', token: 'not for files' }, binaryData: { b: 'AAAA' } }],
  ['Secret', { apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata: { name: 's', namespace: 'n', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"password":"..."}}' } } }],
  ['ServiceAccount', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa', namespace: 'n' }, imagePullSecrets: [{ name: 'r' }], secrets: [{ name: 'tok' }] }],
  ['PersistentVolumeClaim', { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'p', namespace: 'n' }, spec: { accessModes: ['ReadWriteOnce'] }, status: { phase: 'Bound' } }],
  ['Service', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', namespace: 'n' }, spec: { selector: { app: 'a' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } }],
  ['Pod', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'n', labels: { app: 'a' } }, spec: { nodeName: 'n', containers: [{ name: 'c', image: 'i', env: [{ name: 'PASSWORD', value: 'x' }], resources: { requests: { cpu: '1' } }, ports: [{ containerPort: 80 }] }] }, status: { phase: 'Running', podIP: '1.2.3.4' } }],
]

for (const [kind, raw] of full) {
  t.test(`${kind}: the trimmed object gives the view the same record`, async (t) => {
    const trimmed = trimObject(kind, raw)
    t.ok(trimmed)
    t.equal(trimmed?.['kind'], kind)
    t.same(toStateInfo(kind, trimmed), toStateInfo(kind, raw))
    t.ok(JSON.stringify(trimmed).length <= JSON.stringify(raw).length)
  })
}

t.test('nothing sensitive is written', async (t) => {
  const text = JSON.stringify(full.map(([k, r]) => trimObject(k, r)))
  for (const secret of ['not for files', 'internal.example.com', 'password', 'PASSWORD', '"name":"tok"']) t.notOk(text.includes(secret), secret)
})
