import t from 'tap'
import { readFileSync } from 'node:fs'
import { analyze } from '../../src/analyzer/analyze.js'
import { looksLikeDescribe, parseAge, parseDescribe } from '../../src/analyzer/describe.js'
import { FIXTURES, NOW } from './fixtures.js'

type Json = Record<string, unknown>
const text = (f: string): string => readFileSync(`${FIXTURES}describe/${f}`, 'utf8')

function one(f: string): { pod: Json; events: Json[] } {
  const r = parseDescribe(typeof f === 'string' && f.includes('\n') ? f : text(f), NOW)
  if (!r.ok) throw new Error(r.error)
  const p = r.pods[0]
  if (p?.pod === undefined) throw new Error('no pod')
  return { pod: p.pod, events: p.events }
}

const at = (v: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((cur, k) => (cur !== null && typeof cur === 'object' ? (cur as Record<string | number, unknown>)[k] : undefined), v)

t.test('current kubectl: a crash-looping Java container', async (t) => {
  const { pod, events } = one('current-crashloop-oom.txt')
  t.equal(at(pod, 'metadata', 'name'), 'payments-worker-6b9f8d7c5-zx4kl')
  t.equal(at(pod, 'metadata', 'namespace'), 'payments')
  t.same(at(pod, 'metadata', 'labels'), { 'app.kubernetes.io/name': 'payments-worker', 'pod-template-hash': '6b9f8d7c5' })
  t.same(at(pod, 'metadata', 'ownerReferences'), [{ kind: 'ReplicaSet', name: 'payments-worker-6b9f8d7c5', controller: true }])
  t.equal(at(pod, 'spec', 'nodeName'), 'ip-10-0-3-41.eu-west-1.compute.internal')
  t.equal(at(pod, 'status', 'hostIP'), '10.0.3.41')
  t.equal(at(pod, 'status', 'phase'), 'Running')
  const c = at(pod, 'spec', 'containers', 0)
  t.same(at(c, 'command'), ['java'])
  t.same(at(c, 'args'), ['-jar', '/app/worker.jar'])
  t.same(at(c, 'resources'), { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m', memory: '1Gi' } })
  t.same(at(c, 'livenessProbe'), { initialDelaySeconds: 60, timeoutSeconds: 3, periodSeconds: 10, successThreshold: 1, failureThreshold: 3, httpGet: { path: '/actuator/health/liveness', scheme: 'HTTP', port: 8080 } })
  t.same(at(c, 'env'), [
    { name: 'JAVA_TOOL_OPTIONS', value: '-Xms512m -Xmx1536m -XX:+ExitOnOutOfMemoryError' },
    { name: 'KAFKA_BROKERS', value: 'kafka-0.kafka:9092,kafka-1.kafka:9092' },
    { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { key: 'password', name: 'payments-db' } } },
  ])
  t.same(at(c, 'ports'), [{ containerPort: 8080, protocol: 'TCP' }])
  const s = at(pod, 'status', 'containerStatuses', 0)
  t.same(at(s, 'state'), { waiting: { reason: 'CrashLoopBackOff' } })
  t.same(at(s, 'lastState'), { terminated: { exitCode: 137, reason: 'OOMKilled', startedAt: '2024-05-13T10:31:05.000Z', finishedAt: '2024-05-13T10:36:48.000Z' } })
  t.equal(at(s, 'restartCount'), 9)
  t.equal(at(s, 'ready'), false)
  t.same((at(pod, 'status', 'conditions') as Json[]).map((x) => `${String(x['type'])}=${String(x['status'])}`), ['PodReadyToStartContainers=True', 'Initialized=True', 'Ready=False', 'ContainersReady=False', 'PodScheduled=True'])
  t.equal(events.length, 4)
  const backoff = events[3]
  t.equal(at(backoff, 'reason'), 'BackOff')
  t.equal(at(backoff, 'type'), 'Warning')
  t.equal(at(backoff, 'count'), 41)
  t.equal(at(backoff, 'lastTimestamp'), '2024-05-13T10:36:48.000Z', '3m12s before the describe was taken')
  t.equal(at(backoff, 'firstTimestamp'), '2024-05-13T09:12:00.000Z', '88m before')
  t.equal(at(backoff, 'source', 'component'), 'kubelet')
  t.match(String(at(backoff, 'message')), /^Back-off restarting failed container worker in pod/)
})

t.test('kubectl 1.5: tab-separated, FirstSeen/LastSeen events with SubObjectPath', async (t) => {
  const { pod, events } = one('v1.5-liveness-tabs.txt')
  t.same(at(pod, 'metadata', 'ownerReferences'), [{ kind: 'ReplicaSet', name: 'checkout-2794012875', controller: true }], 'Controllers: is read like Controlled By:')
  t.same(at(pod, 'metadata', 'labels'), { app: 'checkout', 'pod-template-hash': '2794012875' })
  t.equal(at(pod, 'spec', 'containers', 0, 'livenessProbe', 'periodSeconds'), 3)
  t.same(at(pod, 'status', 'containerStatuses', 0, 'lastState', 'terminated', 'exitCode'), 137)
  t.equal(events.length, 5)
  t.same(events.map((e) => [at(e, 'reason'), at(e, 'type'), at(e, 'count'), at(e, 'involvedObject', 'fieldPath') ?? null]), [
    ['Scheduled', 'Normal', 1, null],
    ['Pulled', 'Normal', 7, 'spec.containers{checkout}'],
    ['Unhealthy', 'Warning', 18, 'spec.containers{checkout}'],
    ['Killing', 'Normal', 6, 'spec.containers{checkout}'],
    ['Unhealthy', 'Warning', 20, 'spec.containers{checkout}'],
  ])
  t.equal(at(events[2], 'source', 'component'), 'kubelet')
  t.equal(at(events[0], 'source', 'component'), 'default-scheduler')
  t.match(String(at(events[2], 'message')), /^Liveness probe failed: Get http:\/\/10\.4\.1\.12:8080\/health/)
})

t.test('kubectl 1.16: "kubelet, NODE" in From, env from a ConfigMap', async (t) => {
  const { pod, events } = one('v1.16-config-error.txt')
  t.same(at(pod, 'spec', 'containers', 0, 'envFrom'), [{ configMapRef: { name: 'notifications-config' } }])
  t.equal(at(pod, 'spec', 'containers', 0, 'ports'), undefined, 'Port: <none>')
  t.equal(events.length, 3)
  t.equal(at(events[1], 'source', 'component'), 'kubelet')
  t.equal(at(events[1], 'message'), 'Error: configmap "notifications-config" not found')
  t.equal(at(events[1], 'count'), 12)
})

t.test('Terminating pods get a deletion time from "lasts"', async (t) => {
  const { pod } = one('terminating.txt')
  t.equal(at(pod, 'metadata', 'deletionTimestamp'), '2024-05-13T10:28:00.000Z')
  t.equal(at(pod, 'metadata', 'deletionGracePeriodSeconds'), 120)
  t.equal(at(pod, 'status', 'phase'), undefined, 'describe prints Terminating instead of the phase')
  t.same(at(pod, 'spec', 'containers', 0, 'ports'), [{ containerPort: 9200, protocol: 'TCP' }, { containerPort: 9300, protocol: 'TCP' }])
  t.same(at(pod, 'spec', 'containers', 0, 'readinessProbe', 'exec'), { command: ['bash', '-c', 'curl', '-s', 'localhost:9200/_cluster/health'] })
})

t.test('a pending pod: no node, a PVC volume, FailedScheduling', async (t) => {
  const { pod, events } = one('current-pending-taints.txt')
  t.equal(at(pod, 'spec', 'nodeName'), undefined)
  t.same(at(pod, 'spec', 'volumes', 0), { name: 'models', persistentVolumeClaim: { claimName: 'models-gpu-inference-0' } })
  t.same(at(pod, 'spec', 'containers', 0, 'resources', 'limits'), { memory: '16Gi', 'nvidia.com/gpu': '1' })
  t.same(at(pod, 'status', 'containerStatuses'), [], 'no state lines: no container status')
  t.equal(events.length, 1)
  t.equal(at(events[0], 'count'), 7)
})

t.test('describe text of other kinds is refused, naming the kind', async (t) => {
  const dep = parseDescribe(text('deployment.txt'), NOW)
  t.notOk(dep.ok)
  if (!dep.ok) t.match(dep.error, /for a Deployment \(checkout\), not a Pod/)
  const node = parseDescribe('Name:               worker-1\nRoles:              <none>\nLabels:             kubernetes.io/os=linux\nCapacity:\n  cpu:  4\nAllocatable:\n  cpu:  3800m\nSystem Info:\n  Machine ID:  x\n', NOW)
  t.notOk(node.ok)
  if (!node.ok) t.match(node.error, /for a Node \(worker-1\)/)
  const job = parseDescribe('Name:             import\nNamespace:        etl\nSelector:         batch.kubernetes.io/controller-uid=1\nParallelism:      1\nCompletions:      1\nPods Statuses:    0 Active / 0 Succeeded / 4 Failed\nPod Template:\n  Containers:\n   loader:\n    Image:  x\n', NOW)
  t.notOk(job.ok)
  if (!job.ok) t.match(job.error, /for a Job \(import\)/)
  const svc = parseDescribe('Name:              web\nNamespace:         shop\nSelector:          app=web\nType:              ClusterIP\nIP:                10.0.0.12\nPort:              http  80/TCP\nTargetPort:        8080/TCP\nEndpoints:         <none>\n', NOW)
  t.notOk(svc.ok)
  if (!svc.ok) t.match(svc.error, /for a Service \(web\)/)
})

t.test('several pods in one text, and a prompt line before them', async (t) => {
  const r = parseDescribe(`$ kubectl describe pods -n shop\n${text('current-crashloop-oom.txt')}\n\n${text('current-imagepull-denied.txt')}`, NOW)
  t.ok(r.ok)
  if (r.ok) t.same(r.pods.map((p) => at(p.pod, 'metadata', 'name')), ['payments-worker-6b9f8d7c5-zx4kl', 'report-ui-84b7c6d59f-7qk2z'])
})

t.test('events whose whitespace a ticket system collapsed', async (t) => {
  const original = text('current-imagepull-denied.txt')
  const [head, tail] = original.split('Events:\n')
  const collapsed = `${head}Events:\n${(tail ?? '').split('\n').map((l) => l.replace(/\s+/g, ' ')).join('\n')}`
  const a = one(original)
  const b = one(collapsed)
  t.same(b.events.map((e) => [at(e, 'reason'), at(e, 'count'), at(e, 'message')]), a.events.map((e) => [at(e, 'reason'), at(e, 'count'), at(e, 'message')]))
  const analysis = analyze({ pod: b.pod, events: b.events, now: NOW, partialSpec: true })
  t.ok(analysis.ok && analysis.diagnoses[0]?.cause === 'image-pull-unauthorized')
})

t.test('Windows line endings and colour codes are tolerated', async (t) => {
  const crlf = `\u001b[1m${text('current-crashloop-oom.txt').replace(/\n/g, '\r\n')}\u001b[0m`
  t.ok(looksLikeDescribe(crlf))
  t.equal(at(one(crlf).pod, 'metadata', 'name'), 'payments-worker-6b9f8d7c5-zx4kl')
})

t.test('cut-short text: a clear error, or what can be read', async (t) => {
  const full = text('current-crashloop-oom.txt')
  const cut = full.slice(0, full.indexOf('Containers:') + 'Containers:\n'.length)
  const r = parseDescribe(cut, NOW)
  t.notOk(r.ok)
  if (!r.ok) t.match(r.error, /Containers section .* empty or cut short/)
  const midState = full.slice(0, full.indexOf('      Exit Code:'))
  const m = parseDescribe(midState, NOW)
  t.ok(m.ok, 'a text cut inside Last State still gives a pod')
  if (m.ok) {
    const a = analyze({ pod: m.pods[0]?.pod, events: m.pods[0]?.events ?? [], now: NOW, partialSpec: true })
    t.ok(a.ok)
    if (a.ok) t.equal(a.diagnoses[0]?.cause, 'app-error', 'CrashLoopBackOff with the exit code cut off')
  }
})

t.test('describe text is told apart from YAML and JSON', async (t) => {
  t.ok(looksLikeDescribe(text('terminating.txt')))
  t.ok(looksLikeDescribe(`\n\n$ kubectl describe pod x\n${text('terminating.txt')}`))
  t.notOk(looksLikeDescribe('apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n'))
  t.notOk(looksLikeDescribe('Name: just a YAML key\nother: value\n'))
  t.notOk(looksLikeDescribe('{"kind":"Pod"}'))
  t.notOk(looksLikeDescribe(''))
})

t.test('ages', async (t) => {
  t.equal(parseAge('45s'), 45_000)
  t.equal(parseAge('3m12s'), 192_000)
  t.equal(parseAge('2d5h'), (2 * 24 + 5) * 3_600_000)
  t.equal(parseAge('<unknown>'), undefined)
  t.equal(parseAge('5 m'), undefined)
})
