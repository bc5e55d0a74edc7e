import t from 'tap'
import { createServer, type Server } from 'node:http'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { parse, parseAllDocuments } from 'yaml'
import { run } from '../../src/cli/commands/explain.js'
import { main } from '../../src/cli/main.js'
import { memoryIO } from '../../src/cli/io.js'
import { CAUSE_IDS } from '../../src/analyzer/causes.js'
import { FIXTURES } from './fixtures.js'

const NOW = ['--now', '2024-05-13T10:40:00Z']

async function explain(args: string[], stdin = '', env: Record<string, string | undefined> = {}, tty = false) {
  const io = memoryIO(stdin, env, FIXTURES)
  io.stdout.isTTY = tty
  const code = await main(['explain', ...args], io)
  return { code, out: io.out(), err: io.err() }
}

interface JsonOut {
  diagnoses: Array<Record<string, unknown>>
}

t.test('--help prints the usage', async (t) => {
  const r = await explain(['--help'])
  t.equal(r.code, 0)
  t.match(r.out, /^Usage: pod-preflight explain \[options\] POD \| -f FILE\.\.\. \| --all/)
  t.match(r.out, /-f, --filename <path>/)
  t.match(r.out, /--all/)
  t.match(r.out, /Exit status: 0 when the pods were explained/)
})

t.test('usage errors exit 2 with a message', async (t) => {
  for (const [args, message] of [
    [[], /nothing to explain/],
    [['--format', 'xml', '-f', 'x'], /-o\/--output must be one of text, json, yaml, not "xml"/],
    [['-o', 'xml', '-f', 'x'], /-o\/--output must be one of text, json, yaml, not "xml"/],
    [['-f', 'pods/healthy.yaml', 'some-pod'], /either files \(-f\) or a pod name/],
    [['a', 'b'], /one pod at a time/],
    [['--all', 'a'], /a pod name or --all, not both/],
    [['--bogus'], /unknown option '--bogus'/],
    [['--namespace'], /option '-n, --namespace <namespace>' argument missing/],
    [['-f', 'pods/healthy.yaml', '--context', 'x'], /apply to the live cluster/],
    [['--now', 'yesterday', '-f', 'x'], /--now must be an RFC 3339 time/],
  ] as const) {
    const r = await explain([...args])
    t.equal(r.code, 2, args.join(' '))
    t.match(r.err, message)
    t.notMatch(r.err, /\n\s+at /, 'no stack trace')
  }
})

t.test('a pod and its events from a file: text for people', async (t) => {
  const r = await explain([...NOW, '-f', 'pods/oom-killed-jvm.yaml'])
  t.equal(r.code, 0, r.err)
  t.equal(r.err, '')
  t.match(r.out, /^Pod shop\/orders-api-7d4b9c8f6d-x2x7k \(Running\)\n  \[oom-killed\] container api, exit 137 \(SIGKILL\)\n    Container "api" was OOM-killed/)
  t.match(r.out, /\n    Evidence:\n      status\.containerStatuses\[0\]\.state\.waiting\.reason: CrashLoopBackOff\n/)
  t.match(r.out, /\n    Next:\n      kubectl logs orders-api-7d4b9c8f6d-x2x7k -n shop -c api --previous\n/)
  t.match(r.out, /\n    Would have been caught by: jvm-heap-exceeds-memory-limit/)
  t.notMatch(r.out, /\u001b\[/, 'no colour when stdout is not a terminal')
})

t.test('colour only on a terminal and without NO_COLOR', async (t) => {
  const tty = await explain([...NOW, '-f', 'pods/oom-killed-jvm.yaml'], '', {}, true)
  t.match(tty.out, /\u001b\[1m/)
  const noColor = await explain([...NOW, '-f', 'pods/oom-killed-jvm.yaml'], '', { NO_COLOR: '1' }, true)
  t.notMatch(noColor.out, /\u001b\[/)
})

t.test('JSON has exactly the documented keys', async (t) => {
  const r = await explain([...NOW, '--format', 'json', '-f', 'pods/failed-job-pods.yaml', '-f', 'pods/unschedulable-insufficient-cpu.yaml'])
  t.equal(r.code, 0, r.err)
  const out = JSON.parse(r.out) as JsonOut
  t.same(Object.keys(out), ['diagnoses', 'unseen'])
  t.ok(out.diagnoses.length >= 11)
  for (const d of out.diagnoses) {
    t.same(Object.keys(d), ['cause', 'container', 'exitCode', 'signal', 'summary', 'evidence', 'next', 'preventedBy', 'pod'])
    t.ok(CAUSE_IDS.includes(d['cause'] as never))
    t.same(Object.keys(d['pod'] as object), ['namespace', 'name'])
  }
  const sched = out.diagnoses.find((d) => d['cause'] === 'unschedulable')
  t.same([sched?.['container'], sched?.['exitCode'], sched?.['signal'], sched?.['preventedBy']], [null, null, null, 'no-node-fits-requests'])
  const sigint = out.diagnoses.find((d) => d['signal'] === 'SIGINT')
  t.same([sigint?.['cause'], sigint?.['exitCode'], sigint?.['container']], ['signal', 130, 'main'])
})

t.test('a healthy pod: nothing wrong found, exit 0', async (t) => {
  const r = await explain([...NOW, '-f', 'pods/healthy.yaml'])
  t.equal(r.code, 0)
  t.equal(r.out, 'Pod shop/catalog-7b9d8c6f5-k2x8p (Running): nothing wrong found.\n')
  const j = await explain([...NOW, '--format', 'json', '-f', 'pods/healthy.yaml'])
  t.same(JSON.parse(j.out), { diagnoses: [], unseen: [] })
})

t.test('describe text from a file or standard input is detected', async (t) => {
  const file = await explain([...NOW, '-f', 'describe/v1.16-config-error.txt'])
  t.equal(file.code, 0, file.err)
  t.match(file.out, /\[config-missing\] container notifications/)
  const stdin = readFileSync(`${FIXTURES}describe/current-imagepull-denied.txt`, 'utf8')
  for (const args of [['-f', '-'], ['-']]) {
    const r = await explain([...NOW, '--format', 'json', ...args], stdin)
    t.equal(r.code, 0, r.err)
    t.equal((JSON.parse(r.out) as JsonOut).diagnoses[0]?.['cause'], 'image-pull-unauthorized', args.join(' '))
  }
})

t.test('YAML and JSON from standard input, in any mix', async (t) => {
  const yamlText = readFileSync(`${FIXTURES}pods/liveness-killed.yaml`, 'utf8')
  const docs = parseAllDocuments(yamlText).map((d) => d.toJS() as unknown)
  const asJson = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [docs[0], ...((docs[1] as { items: unknown[] }).items)] })
  for (const [what, text] of [['multi-document YAML', yamlText], ['a JSON List', asJson]] as const) {
    const r = await explain([...NOW, '--format', 'json', '-'], text)
    t.equal(r.code, 0, `${what}: ${r.err}`)
    t.equal((JSON.parse(r.out) as JsonOut).diagnoses[0]?.['cause'], 'liveness-probe-killed', what)
  }
  const dir = mkdtempSync(join(tmpdir(), 'explain-'))
  writeFileSync(join(dir, 'pod.json'), JSON.stringify(docs[0]))
  writeFileSync(join(dir, 'events.yaml'), parse(JSON.stringify(docs[1])) === null ? '' : yamlText.split('\n---\n')[1] ?? '')
  const split = await explain([...NOW, '--format', 'json', '-f', join(dir, 'pod.json'), '-f', join(dir, 'events.yaml')])
  t.equal((JSON.parse(split.out) as JsonOut).diagnoses[0]?.['cause'], 'liveness-probe-killed', 'pod and events in separate files')
  const directory = await explain([...NOW, '--format', 'json', '-f', dir])
  t.equal((JSON.parse(directory.out) as JsonOut).diagnoses[0]?.['cause'], 'liveness-probe-killed', 'a directory')
})

t.test('bad input: a clear message naming the file, exit 2, never a crash', async (t) => {
  const cases: [string, RegExp][] = [
    ['bad/deployment.yaml', /^pod-preflight explain: bad\/deployment\.yaml: no Pod in this input \(found Deployment checkout\): give the output of `kubectl get pod NAME -o yaml`/m],
    ['bad/truncated.json', /^pod-preflight explain: bad\/truncated\.json: not valid JSON: .*\(the input seems cut short\)$/m],
    ['bad/truncated.yaml', /^pod-preflight explain: bad\/truncated\.yaml:254: Missing closing "quote \(the input seems cut short\)$/m],
    ['bad/truncated-before-status.yaml', /bad\/truncated-before-status\.yaml:1: the Pod has no metadata\.name \(is the input complete\?\)/],
    ['bad/empty-status.yaml', /bad\/empty-status\.yaml:1: Pod hello has no status, so there is nothing to explain/],
    ['describe/deployment.txt', /describe\/deployment\.txt: this is `kubectl describe` output for a Deployment \(checkout\), not a Pod/],
    ['no-such-file.yaml', /no-such-file\.yaml: no such file or directory/],
  ]
  for (const [file, message] of cases) {
    const r = await explain([...NOW, '-f', file])
    t.equal(r.code, 2, file)
    t.match(r.err, message, file)
    t.notMatch(r.err, /internal error|\n\s+at /, `${file}: no stack trace`)
  }
  const empty = await explain(['-'], '')
  t.equal(empty.code, 2)
  t.match(empty.err, /<stdin>: empty input/)
  const garbage = await explain(['-'], '\u0000\u0001binary')
  t.equal(garbage.code, 2)
  t.match(garbage.err, /<stdin>: not a text file/)
  const mixed = await explain([...NOW, '-f', 'pods/healthy.yaml', '-f', 'bad/truncated.json'])
  t.equal(mixed.code, 2, 'one bad file fails the run')
  t.match(mixed.out, /nothing wrong found/, 'the good file is still explained')
})

// ------------------------------------------------------------------ live cluster, faked

function podsOf(file: string): { pods: unknown[]; events: unknown[] } {
  const docs = parseAllDocuments(readFileSync(`${FIXTURES}pods/${file}`, 'utf8')).map((d) => d.toJS() as Record<string, unknown>)
  const pods = docs.filter((d) => d['kind'] === 'Pod')
  const events = docs.filter((d) => d['kind'] === 'List').flatMap((d) => d['items'] as unknown[])
  return { pods, events }
}

async function fakeApiServer(): Promise<{ server: Server; url: string; requests: string[]; forbidLogs: { on: boolean } }> {
  const oom = podsOf('oom-killed-jvm.yaml')
  const healthy = podsOf('healthy.yaml')
  const quota = podsOf('quota-exceeded.yaml')
  const pods = [...oom.pods, ...healthy.pods, ...quota.pods]
  const events = [...oom.events, ...quota.events]
  const requests: string[] = []
  const forbidLogs = { on: false }
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    requests.push(`${req.method} ${url.pathname}${url.search}`)
    const send = (code: number, body: unknown): void => {
      res.writeHead(code, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    const notFound = (what: string): void => send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `${what} not found`, reason: 'NotFound', code: 404 })
    let m: RegExpExecArray | null
    if ((m = /^\/api\/v1\/namespaces\/shop\/pods\/([^/]+)$/.exec(url.pathname))) {
      const pod = pods.find((p) => (p as { metadata: { name: string } }).metadata.name === m?.[1])
      return pod ? send(200, pod) : notFound(`pods "${m[1]}"`)
    }
    if (url.pathname === '/api/v1/namespaces/shop/pods/orders-api-7d4b9c8f6d-x2x7k/log' && !forbidLogs.on) {
      // What the kubelet answers through the API server for GET pods/log (text/plain).
      res.writeHead(200, { 'content-type': 'text/plain' })
      return res.end('2024-05-13T10:31:58Z ERROR [main] o.s.b.SpringApplication - Application run failed\njava.lang.OutOfMemoryError: Java heap space\n\tat java.base/java.util.Arrays.copyOf(Arrays.java:3537)\n')
    }
    if (/^\/api\/v1\/namespaces\/shop\/pods\/[^/]+\/log$/.test(url.pathname)) {
      return send(403, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'pods "x" is forbidden: User "dev" cannot get resource "pods/log"', reason: 'Forbidden', code: 403 })
    }
    if (url.pathname === '/api/v1/namespaces/shop/pods') return send(200, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items: pods })
    if (url.pathname === '/api/v1/namespaces/empty/pods') return send(200, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items: [] })
    if (url.pathname === '/api/v1/namespaces/empty/events') return send(200, { kind: 'EventList', apiVersion: 'v1', metadata: {}, items: [] })
    if (url.pathname === '/api/v1/namespaces/shop/events') {
      const selector = url.searchParams.get('fieldSelector')
      const uid = selector?.startsWith('involvedObject.uid=') ? selector.slice('involvedObject.uid='.length) : undefined
      const items = uid ? events.filter((e) => (e as { involvedObject: { uid?: string } }).involvedObject.uid === uid) : events
      return send(200, { kind: 'EventList', apiVersion: 'v1', metadata: {}, items })
    }
    if (url.pathname.startsWith('/apis/apps/v1/namespaces/shop/replicasets/')) return notFound('replicasets')
    return notFound(url.pathname)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = address !== null && typeof address === 'object' ? address.port : 0
  return { server, url: `http://127.0.0.1:${port}`, requests, forbidLogs }
}

function kubeconfig(server: string, namespace = 'shop'): string {
  const dir = mkdtempSync(join(tmpdir(), 'explain-kc-'))
  const path = join(dir, 'config')
  writeFileSync(path, `apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: ${server}
    insecure-skip-tls-verify: true
contexts:
- name: fake
  context:
    cluster: fake
    user: fake
    namespace: ${namespace}
- name: other
  context:
    cluster: fake
    user: fake
current-context: fake
users:
- name: fake
  user:
    token: not-a-secret
`)
  return path
}

t.test('live: one pod, read with its events and owner', async (t) => {
  const api = await fakeApiServer()
  t.teardown(() => api.server.close())
  const kc = kubeconfig(api.url)
  const r = await explain([...NOW, '--format', 'json', '--kubeconfig', kc, 'orders-api-7d4b9c8f6d-x2x7k'])
  t.equal(r.code, 0, r.err)
  const d = (JSON.parse(r.out) as JsonOut).diagnoses
  t.same(d.map((x) => [x['cause'], x['preventedBy']]), [['oom-killed', 'jvm-heap-exceeds-memory-limit']])
  t.ok(api.requests.includes('GET /api/v1/namespaces/shop/pods/orders-api-7d4b9c8f6d-x2x7k'), 'the namespace of the context')
  t.ok(api.requests.some((q) => q.startsWith('GET /api/v1/namespaces/shop/events?fieldSelector=involvedObject.uid%3D676f6909')), 'events by the pod uid')
  t.ok(api.requests.includes('GET /apis/apps/v1/namespaces/shop/replicasets/orders-api-7d4b9c8f6d'), 'the owner, one level up')
  const viaEnv = await explain([...NOW, 'orders-api-7d4b9c8f6d-x2x7k'], '', { KUBECONFIG: kc })
  t.equal(viaEnv.code, 0, `KUBECONFIG is honoured: ${viaEnv.err}`)
  t.match(viaEnv.out, /\[oom-killed\]/)
})

t.test('live: --previous-logs reads the failed container\'s previous log, bounded, and only when asked', async (t) => {
  const api = await fakeApiServer()
  t.teardown(() => api.server.close())
  const kc = kubeconfig(api.url)
  const r = await explain([...NOW, '--format', 'json', '--kubeconfig', kc, '--previous-logs', 'orders-api-7d4b9c8f6d-x2x7k'])
  t.equal(r.code, 0, r.err)
  const logRequest = api.requests.find((q) => q.startsWith('GET /api/v1/namespaces/shop/pods/orders-api-7d4b9c8f6d-x2x7k/log?'))
  t.ok(logRequest, 'the log was read')
  const params = new URL(`http://x${(logRequest ?? '').slice(4)}`).searchParams
  t.equal(params.get('container'), 'api')
  t.equal(params.get('previous'), 'true')
  t.equal(params.get('limitBytes'), '262144')
  t.equal(params.get('tailLines'), '5000')
  const d = (JSON.parse(r.out) as JsonOut).diagnoses[0]
  t.equal(d?.['cause'], 'oom-killed', 'the kernel kill stays the cause')
  t.ok((d?.['evidence'] as string[]).includes('log line 2 (jvm-heap): java.lang.OutOfMemoryError: Java heap space'))
  t.match(d?.['summary'] as string, /JVM ran out of heap/)

  const before = api.requests.length
  await explain([...NOW, '--kubeconfig', kc, 'orders-api-7d4b9c8f6d-x2x7k'])
  t.notOk(api.requests.slice(before).some((q) => q.includes('/log')), 'no log is read without --previous-logs')

  const all = await explain([...NOW, '--kubeconfig', kc, '--previous-logs', '--all'])
  t.equal(all.code, 0, all.err)
  t.match(all.out, /JVM ran out of heap/)

  api.forbidLogs.on = true
  const denied = await explain([...NOW, '--kubeconfig', kc, '--previous-logs', 'orders-api-7d4b9c8f6d-x2x7k'])
  t.equal(denied.code, 0, 'a refused log costs only the log')
  t.match(denied.err, /warning: cannot read the previous log of shop\/orders-api-7d4b9c8f6d-x2x7k container api \(pods "x" is forbidden: User "dev" cannot get resource "pods\/log" \(HTTP 403\)\); explaining without it/)
  t.match(denied.out, /\[oom-killed\]/)
  t.notMatch(denied.out, /JVM ran out of heap/)
})

t.test('live: --all explains the unhealthy pods of a namespace', async (t) => {
  const api = await fakeApiServer()
  t.teardown(() => api.server.close())
  const r = await explain([...NOW, '--format', 'json', '--kubeconfig', kubeconfig(api.url), '--all', '-n', 'shop'])
  t.equal(r.code, 0, r.err)
  const d = (JSON.parse(r.out) as JsonOut).diagnoses
  t.same(d.map((x) => [(x['pod'] as { name: string }).name, x['cause']]), [
    ['orders-api-7d4b9c8f6d-x2x7k', 'oom-killed'],
    ['search-ui-6d8f7c9b5-h2k9w', 'quota-exceeded'],
  ], 'the healthy catalog pod is left out')
})

t.test('live: --all in a namespace without failures says so', async (t) => {
  const api = await fakeApiServer()
  t.teardown(() => api.server.close())
  const r = await explain([...NOW, '--kubeconfig', kubeconfig(api.url, 'empty'), '--all'])
  t.equal(r.code, 0, r.err)
  t.equal(r.out, 'No unhealthy pods in namespace empty (0 pods checked).\n', 'the namespace of the context')
})

t.test('live: errors are one clear line, exit 2', async (t) => {
  const api = await fakeApiServer()
  t.teardown(() => api.server.close())
  const kc = kubeconfig(api.url)
  const missing = await explain(['--kubeconfig', kc, 'nope'])
  t.equal(missing.code, 2)
  t.equal(missing.err, 'pod-preflight explain: pod nope: not found in namespace shop (context fake)\n')
  const context = await explain(['--kubeconfig', kc, '--context', 'prod', 'x'])
  t.equal(context.code, 2)
  t.match(context.err, /no context "prod" in the kubeconfig \(contexts: fake, other\)/)
  const closed = kubeconfig('http://127.0.0.1:9')
  const down = await explain(['--kubeconfig', closed, 'x'])
  t.equal(down.code, 2)
  t.match(down.err, /^pod-preflight explain: pod x: cannot reach http:\/\/127\.0\.0\.1:9: /)
  t.notMatch(down.err, /\n\s+at /)
  const noFile = await explain(['--kubeconfig', '/nonexistent/kubeconfig', 'x'])
  t.equal(noFile.code, 2)
  t.match(noFile.err, /cannot load the kubeconfig \/nonexistent\/kubeconfig/)
})

t.test('live: without any kubeconfig it says so, where it looked and how to point at one', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'explain-home-'))
  t.teardown(() => rmSync(home, { recursive: true, force: true }))
  const none = await explain(['web-0'], '', { HOME: home })
  t.equal(none.code, 2)
  t.equal(none.err.split('\n').length, 2, 'one line')
  t.match(none.err, /^pod-preflight explain: no kubeconfig found: /)
  t.match(none.err, `${join(home, '.kube', 'config')} does not exist`)
  t.match(none.err, /KUBECONFIG not set/)
  t.match(none.err, /--kubeconfig FILE or KUBECONFIG=FILE/)
  t.notMatch(none.err, /localhost:8080/, 'not the client library\'s last-resort server')
  const noHome = await explain(['--all'], '', {})
  t.match(noHome.err, /no kubeconfig found: .*~\/\.kube\/config \(HOME not set\)/)
  // Near-miss: the same HOME with a ~/.kube/config is read, as kubectl reads it.
  const api = await fakeApiServer()
  t.teardown(() => api.server.close())
  mkdirSync(join(home, '.kube'))
  copyFileSync(kubeconfig(api.url, 'empty'), join(home, '.kube', 'config'))
  const found = await explain([...NOW, '--all'], '', { HOME: home })
  t.equal(found.code, 0, found.err)
  t.equal(found.out, 'No unhealthy pods in namespace empty (0 pods checked).\n')
  // A KUBECONFIG list naming a missing file: the error names that file.
  const listed = await explain(['web-0'], '', { HOME: home, KUBECONFIG: [join(home, '.kube', 'config'), join(home, 'missing')].join(delimiter) })
  t.equal(listed.code, 2)
  t.match(listed.err, `cannot load the kubeconfig ${join(home, 'missing')}`)
})

t.test('run() is the command main dispatches to', async (t) => {
  const io = memoryIO()
  t.equal(await run(['--help'], io), 0)
})
