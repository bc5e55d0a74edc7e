import t from 'tap'
import type { Container, Probe } from '../../src/engine/k8s.js'
import {
  PROBE_DEFAULTS,
  canonicalProbe,
  describeHandler,
  failureWindowSeconds,
  handlerKey,
  probeHandler,
  probeTiming,
  resolvePort,
  sameCheck,
  sameTiming,
  startWindowSeconds,
  type ProbeHandler,
} from '../../src/engine/probe.js'
import type { RelatedObjects } from '../../src/engine/related.js'
import { rule as readinessMissing } from '../../src/rules/probe-readiness-missing.js'
import type { PodRule } from '../../src/engine/rule.js'
import { runRule } from '../helpers/fixtures.js'

const handler = (p: Probe, c?: Container): ProbeHandler => {
  const h = probeHandler(p, c)
  if (h === undefined) throw new Error('no handler')
  return h
}

t.test('timing: the API server defaults, also for explicit zeros', async (t) => {
  t.same(probeTiming({ tcpSocket: { port: 80 } }), PROBE_DEFAULTS)
  t.same(probeTiming({ periodSeconds: 0, timeoutSeconds: 0, failureThreshold: 0, successThreshold: 0 }), PROBE_DEFAULTS)
  t.same(probeTiming({ initialDelaySeconds: 15, timeoutSeconds: 3, periodSeconds: 5, successThreshold: 2, failureThreshold: 6 }), {
    initialDelaySeconds: 15,
    timeoutSeconds: 3,
    periodSeconds: 5,
    successThreshold: 2,
    failureThreshold: 6,
  })
})

t.test('windows', async (t) => {
  t.equal(failureWindowSeconds(probeTiming({})), 30, 'defaults: 10 s × 3')
  t.equal(startWindowSeconds(probeTiming({})), 30, 'defaults: 0 + 10 s × 3')
  t.equal(failureWindowSeconds(probeTiming({ periodSeconds: 2, failureThreshold: 2 })), 4)
  t.equal(startWindowSeconds(probeTiming({ initialDelaySeconds: 20, periodSeconds: 5 })), 35)
})

t.test('handlers in canonical form', async (t) => {
  const c: Container = { name: 'web', ports: [{ name: 'http', containerPort: 8080 }, { containerPort: 9090 }] }
  t.same(handler({ httpGet: { port: 'http' } }, c), { type: 'httpGet', scheme: 'HTTP', host: '', port: 8080, path: '/', headers: [] }, 'defaults and named port')
  t.same(handler({ httpGet: { port: 'http', path: 'ready', scheme: 'https' } }, c), { type: 'httpGet', scheme: 'HTTPS', host: '', port: 8080, path: '/ready', headers: [] })
  const unknownName = handler({ httpGet: { port: 'admin' } }, c)
  t.equal(unknownName.type === 'httpGet' ? unknownName.port : undefined, 'admin', 'an unknown name stays a name')
  t.same(handler({ httpGet: { port: 'http' } }), { type: 'httpGet', scheme: 'HTTP', host: '', port: 'http', path: '/', headers: [] }, 'no container: names stay names')
  t.same(handler({ tcpSocket: { port: 'http' } }, c), { type: 'tcpSocket', host: '', port: 8080 })
  t.same(handler({ grpc: { port: 9090 } }), { type: 'grpc', port: 9090, service: '' })
  t.same(handler({ exec: { command: ['cat', '/tmp/ok'] } }), { type: 'exec', command: ['cat', '/tmp/ok'] })
  t.equal(probeHandler({ periodSeconds: 5 }), undefined, 'no handler')
  const h = handler({ httpGet: { port: 80, httpHeaders: [{ name: 'X-B', value: '2' }, { name: 'x-a', value: '1' }] } })
  t.same(h.type === 'httpGet' ? h.headers : [], [['x-a', '1'], ['x-b', '2']], 'headers lower-cased and sorted')
})

t.test('resolvePort', async (t) => {
  const c: Container = { name: 'web', ports: [{ name: 'http', containerPort: 8080 }] }
  t.equal(resolvePort('http', c), 8080)
  t.equal(resolvePort('metrics', c), 'metrics')
  t.equal(resolvePort(9000, c), 9000)
  t.equal(resolvePort('http', undefined), 'http')
})

t.test('comparing probes', async (t) => {
  const c: Container = { name: 'web', ports: [{ name: 'http', containerPort: 8080 }] }
  const a: Probe = { httpGet: { path: '/healthz', port: 'http' } }
  const b: Probe = { httpGet: { path: 'healthz', port: 8080, scheme: 'HTTP' }, periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 1 }
  t.ok(sameCheck(a, b, c), 'same check once defaults and the port name are applied')
  t.notOk(sameCheck(a, b), 'without the container the name cannot be resolved')
  t.ok(sameTiming(a, b), 'written-out defaults are the defaults')
  t.equal(canonicalProbe(a, c), canonicalProbe(b, c))
  const d: Probe = { ...b, failureThreshold: 1 }
  t.ok(sameCheck(a, d, c))
  t.notOk(sameTiming(a, d), 'a different threshold is different timing')
  t.not(canonicalProbe(a, c), canonicalProbe(d, c))
  t.notOk(sameCheck({ httpGet: { port: 8080 } }, { tcpSocket: { port: 8080 } }), 'HTTP and TCP on one port differ')
  t.notOk(sameCheck({ exec: { command: ['a', 'b'] } }, { exec: { command: ['a b'] } }), 'exec arguments are compared as a list')
  t.notOk(sameCheck({ periodSeconds: 1 }, { periodSeconds: 1 }), 'probes without a handler are not the same check')
  t.equal(handlerKey(handler(a, c)), handlerKey(handler(b, c)))
})

t.test('describeHandler', async (t) => {
  t.equal(describeHandler(handler({ httpGet: { port: 8080, path: '/ready' } })), 'HTTP GET :8080/ready')
  t.equal(describeHandler(handler({ tcpSocket: { port: 5432 } })), 'TCP :5432')
  t.equal(describeHandler(handler({ grpc: { port: 9090, service: 'health' } })), 'gRPC :9090 health')
  t.equal(describeHandler(handler({ exec: { command: ['pg_isready', '-U', 'app'] } })), 'exec pg_isready -U app')
  const long = describeHandler(handler({ exec: { command: ['sh', '-c', 'x'.repeat(200)] } }))
  t.ok(long.length <= 60 && long.endsWith('…'), 'long commands are cut')
})

// probe-readiness-missing is also a batch rule; the fixture runner has no related objects, so
// its batch behaviour is checked here.
function related(objects: Record<string, unknown>[]): RelatedObjects {
  const ns = (o: Record<string, unknown>): string => {
    const m = o['metadata'] as Record<string, unknown> | undefined
    return typeof m?.['namespace'] === 'string' ? m['namespace'] : 'default'
  }
  return {
    complete: false,
    list: (kind, namespace) => objects.filter((o) => o['kind'] === kind && ns(o) === (namespace ?? 'default')),
    get: () => undefined,
  }
}

const service = (selector: Record<string, string>, namespace = 'default'): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'front', namespace },
  spec: { selector, ports: [{ port: 80, targetPort: 8080 }] },
})

const deployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web, tier: front }
    spec:
      initContainers:
        - name: setup
          image: registry.example.com/setup:1.0.0
      containers:
        - name: web
          image: registry.example.com/web:1.4.2
          livenessProbe:
            httpGet: { path: /healthz, port: 8080 }
        - name: logs
          image: registry.example.com/log-shipper:3.0.0
`

t.test('probe-readiness-missing in a batch run', async (t) => {
  const r = readinessMissing as PodRule<unknown>
  const paths = (text: string, objs: Record<string, unknown>[]): string[] =>
    runRule(r, text, {}, { related: related(objs) }).evaluations.flatMap((e) => e.findings.map((f) => f.path))

  t.same(paths(deployment, []), [], 'no Service in the run: silent, even without looking at ports')
  t.same(paths(deployment, [service({ app: 'other' })]), [], 'a Service that selects other pods: silent')
  t.same(paths(deployment, [service({ app: 'web' }, 'shop')]), [], 'a Service of another namespace: silent')
  t.same(paths(deployment, [service({})]), [], 'a Service without a selector selects nothing')
  t.same(
    paths(deployment, [service({ app: 'web', tier: 'front' })]),
    ['spec.template.spec.containers[0].readinessProbe', 'spec.template.spec.containers[1].readinessProbe'],
    'selected, no ports declared and no readiness probe anywhere: every app container',
  )
  const withPorts = deployment.replace(
    '          livenessProbe:',
    '          ports:\n            - containerPort: 8080\n          livenessProbe:',
  )
  t.same(paths(withPorts, [service({ app: 'web' })]), ['spec.template.spec.containers[0].readinessProbe'], 'selected: the container that declares ports')
  t.same(paths(withPorts, []), [], 'ports but no selecting Service in the run: silent')
  const oneReady = deployment.replace('          livenessProbe:', '          readinessProbe:')
  t.same(paths(oneReady, [service({ app: 'web' })]), [], 'no ports, one container has a readiness probe: the sidecar is not reported')
  const job = `
apiVersion: batch/v1
kind: Job
metadata:
  name: once
spec:
  template:
    metadata:
      labels: { app: web }
    spec:
      restartPolicy: Never
      containers:
        - name: once
          image: registry.example.com/once:1.0.0
          ports:
            - containerPort: 8080
`
  t.same(paths(job, [service({ app: 'web' })]), [], 'a Job selected by a Service: never')
  const msgs = runRule(r, withPorts, {}, { related: related([service({ app: 'web' })]) }).evaluations.flatMap((e) => e.findings.map((f) => f.message))
  t.match(msgs[0] ?? '', /Service "front" selects this pod/)
})
