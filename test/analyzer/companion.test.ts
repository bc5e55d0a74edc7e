// The companion's wiring (informer, events API, restarts) against a fake API server. The real
// kube-apiserver test is test/e2e/companion.test.ts.
import t from 'tap'
import { createServer, type ServerResponse } from 'node:http'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { KubeConfig } from '@kubernetes/client-node'
import { startCompanion } from '../../src/analyzer/companion.js'
import { FIXTURES } from './fixtures.js'

type Json = Record<string, unknown>

function fixture(file: string): { pod: Json; events: unknown[] } {
  const docs = parseAllDocuments(readFileSync(`${FIXTURES}pods/${file}`, 'utf8')).map((d) => d.toJS() as Json)
  const pod = docs.find((d) => d['kind'] === 'Pod')
  if (pod === undefined) throw new Error('no pod')
  return { pod, events: docs.filter((d) => d['kind'] === 'List').flatMap((d) => d['items'] as unknown[]) }
}

interface Fake {
  url: string
  posted: Json[]
  requests: string[]
  /** Sends a watch event to the open watch, if any. */
  push(type: string, object: unknown): void
  failNextLists: number
  close(): Promise<void>
}

async function fakeServer(pods: Json[], events: unknown[]): Promise<Fake> {
  let watch: ServerResponse | undefined
  const fake: Fake = {
    url: '',
    posted: [],
    requests: [],
    failNextLists: 0,
    push(type, object) {
      watch?.write(`${JSON.stringify({ type, object })}\n`)
    },
    close: async () => {
      watch?.end()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    fake.requests.push(`${req.method} ${url.pathname}${url.search}`)
    const send = (code: number, body: unknown): void => {
      res.writeHead(code, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (url.pathname === '/api/v1/namespaces/shop/pods') {
      if (url.searchParams.get('watch') === 'true') {
        res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' })
        res.write('')
        watch = res
        return
      }
      if (fake.failNextLists > 0) {
        fake.failNextLists--
        return send(500, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'etcdserver: request timed out', code: 500 })
      }
      return send(200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '100' }, items: pods })
    }
    if (url.pathname === '/api/v1/namespaces/shop/events') {
      if (req.method === 'POST') {
        let body = ''
        req.on('data', (c: Buffer) => (body += c.toString()))
        req.on('end', () => {
          const event = JSON.parse(body) as Json
          fake.posted.push(event)
          send(201, { ...event, metadata: { ...(event['metadata'] as Json), name: `e${fake.posted.length}` } })
        })
        return
      }
      return send(200, { kind: 'EventList', apiVersion: 'v1', metadata: {}, items: [...events, ...fake.posted] })
    }
    if (url.pathname === '/api/v1/namespaces/shop/pods/orders-api-7d4b9c8f6d-x2x7k/log') {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.end('Exception in thread "main" java.lang.OutOfMemoryError: Java heap space\n\tat com.example.Orders.load(Orders.java:88)\n')
      return
    }
    send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'not found', code: 404 })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  fake.url = `http://127.0.0.1:${address !== null && typeof address === 'object' ? address.port : 0}`
  return fake
}

function kubeConfigFor(server: string): KubeConfig {
  const dir = mkdtempSync(join(tmpdir(), 'companion-'))
  const path = join(dir, 'config')
  writeFileSync(path, `apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: ${server}\n    insecure-skip-tls-verify: true\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\ncurrent-context: fake\nusers:\n- name: fake\n  user:\n    token: x\n`)
  const kc = new KubeConfig()
  kc.loadFromFile(path)
  return kc
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`)
    await sleep(20)
  }
}

function logger() {
  const lines: { level: string; obj: object; msg: string }[] = []
  return {
    lines,
    info: (obj: object, msg: string) => void lines.push({ level: 'info', obj, msg }),
    warn: (obj: object, msg: string) => void lines.push({ level: 'warn', obj, msg }),
    error: (obj: object, msg: string) => void lines.push({ level: 'error', obj, msg }),
  }
}

t.test('a failing pod gets one PreflightDiagnosis event; a restart loop does not add more', async (t) => {
  const oom = fixture('oom-killed-jvm.yaml')
  const healthy = fixture('healthy.yaml')
  const fake = await fakeServer([oom.pod, healthy.pod], oom.events)
  t.teardown(() => fake.close())
  const log = logger()
  const causes: string[] = []
  const companion = startCompanion({ kubeConfig: kubeConfigFor(fake.url), namespace: 'shop', logger: log, onDiagnosis: (c) => causes.push(c), now: () => new Date('2024-05-13T10:40:00Z') })
  t.teardown(() => companion.stop())
  await companion.ready
  await until('the event is posted', () => fake.posted.length === 1)
  const e = fake.posted[0] ?? {}
  t.equal(e['reason'], 'PreflightDiagnosis')
  t.equal(e['type'], 'Warning')
  t.match(String(e['message']), /^\[oom-killed\] Container "api" was OOM-killed/)
  t.same(e['involvedObject'], { apiVersion: 'v1', kind: 'Pod', name: 'orders-api-7d4b9c8f6d-x2x7k', namespace: 'shop', uid: '676f6909-3ce8-ffd4-2f20-d3c1c650d77b', fieldPath: 'spec.containers{api}' })
  t.same(e['source'], { component: 'pod-preflight' })
  t.equal(e['reportingComponent'], 'pod-preflight')
  t.equal((e['metadata'] as Json)['generateName'], 'orders-api-7d4b9c8f6d-x2x7k.preflight-')
  t.same((e['metadata'] as Json)['annotations'], { 'pod-preflight/failure-key': '676f6909-3ce8-ffd4-2f20-d3c1c650d77b/api/oom-killed/6' })
  t.ok(fake.requests.some((r) => r === 'GET /api/v1/namespaces/shop/events?fieldSelector=involvedObject.uid%3D676f6909-3ce8-ffd4-2f20-d3c1c650d77b'))
  // The server records the POST before the companion has its answer and counts the diagnosis.
  await until('the diagnosis is counted', () => causes.length > 0)
  t.same(causes, ['oom-killed'])

  // Two more restarts of the same failure.
  const again = structuredClone(oom.pod)
  const status = (again['status'] as Json)['containerStatuses'] as Json[]
  if (status[0]) status[0]['restartCount'] = 8
  ;(again['metadata'] as Json)['resourceVersion'] = '101' // the informer skips objects whose version it has seen
  fake.push('MODIFIED', again)
  await until('the update is analysed', () => fake.requests.filter((r) => r.startsWith('GET /api/v1/namespaces/shop/events')).length === 2)
  await sleep(300)
  t.equal(fake.posted.length, 1, 'the same cause in the restart loop')

  // A different cause.
  const appError = structuredClone(again)
  ;(appError['metadata'] as Json)['resourceVersion'] = '102'
  const s2 = ((appError['status'] as Json)['containerStatuses'] as Json[])[0]
  if (s2) {
    s2['restartCount'] = 9
    s2['lastState'] = { terminated: { exitCode: 1, reason: 'Error', startedAt: '2024-05-13T10:38:00Z', finishedAt: '2024-05-13T10:38:30Z' } }
  }
  fake.push('MODIFIED', appError)
  await until('the second event', () => fake.posted.length === 2)
  t.match(String(fake.posted[1]?.['message']), /^\[app-error\] /)
  fake.push('DELETED', appError)
  await sleep(100)
  t.same(log.lines.filter((l) => l.level !== 'info'), [])
  t.equal(log.lines.filter((l) => l.msg === 'diagnosis recorded').length, 2)
})

t.test('a restarted companion reads its own events and does not repeat them', async (t) => {
  const oom = fixture('oom-killed-jvm.yaml')
  const previous = {
    apiVersion: 'v1', kind: 'Event', reason: 'PreflightDiagnosis', type: 'Warning',
    message: '[oom-killed] Container "api" was OOM-killed (exit code 137)',
    involvedObject: { kind: 'Pod', name: 'orders-api-7d4b9c8f6d-x2x7k', namespace: 'shop', uid: '676f6909-3ce8-ffd4-2f20-d3c1c650d77b', fieldPath: 'spec.containers{api}' },
    lastTimestamp: '2024-05-13T10:20:00Z',
  }
  const fake = await fakeServer([oom.pod], [...oom.events, previous])
  t.teardown(() => fake.close())
  const companion = startCompanion({ kubeConfig: kubeConfigFor(fake.url), namespace: 'shop', logger: logger() })
  t.teardown(() => companion.stop())
  await companion.ready
  await until('the events were read', () => fake.requests.some((r) => r.startsWith('GET /api/v1/namespaces/shop/events')))
  await sleep(200)
  t.same(fake.posted, [])
})

t.test('a failing list is retried after a pause; ready waits for it', async (t) => {
  const oom = fixture('oom-killed-jvm.yaml')
  const fake = await fakeServer([oom.pod], oom.events)
  fake.failNextLists = 2
  t.teardown(() => fake.close())
  const log = logger()
  const companion = startCompanion({ kubeConfig: kubeConfigFor(fake.url), namespace: 'shop', logger: log, restartDelayMs: 50 })
  t.teardown(() => companion.stop())
  await companion.ready
  t.equal(log.lines.filter((l) => l.msg === 'pod watch failed; restarting after a pause').length, 2)
  await until('the event after recovery', () => fake.posted.length === 1)
})

t.test('stop() before the cluster answers: ready rejects, nothing is left running', async (t) => {
  const companion = startCompanion({ kubeConfig: kubeConfigFor('http://127.0.0.1:9'), logger: logger(), restartDelayMs: 10_000 })
  await sleep(200)
  await companion.stop()
  await t.rejects(companion.ready, /stopped before it was ready/)
  await companion.stop()
})

t.test('readLogs: the failure signature is added to the event; without it no log is read', async (t) => {
  const oom = fixture('oom-killed-jvm.yaml')
  for (const readLogs of [true, false]) {
    const fake = await fakeServer([oom.pod], oom.events)
    const companion = startCompanion({ kubeConfig: kubeConfigFor(fake.url), namespace: 'shop', logger: logger(), now: () => new Date('2024-05-13T10:40:00Z'), ...(readLogs ? { readLogs } : {}) })
    await companion.ready
    await until('the event is posted', () => fake.posted.length === 1)
    const message = String(fake.posted[0]?.['message'])
    const logRequests = fake.requests.filter((r) => r.includes('/log'))
    if (readLogs) {
      t.match(message, /^\[oom-killed\] .*JVM ran out of heap/)
      t.same(logRequests, ['GET /api/v1/namespaces/shop/pods/orders-api-7d4b9c8f6d-x2x7k/log?container=api&limitBytes=262144&previous=true&tailLines=5000'])
    } else {
      t.notMatch(message, /JVM ran out of heap/)
      t.same(logRequests, [], 'no log is read unless asked')
    }
    await companion.stop()
    await fake.close()
  }
})
