/**
 * The listening server: real TLS from files made by certs/generate.sh, certificate and policy
 * reloads without a restart, the seams for the live cluster view and the companion.
 */
import t, { type Test } from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtemp, readFile, rm, writeFile, copyFile, rename } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'node:https'
import type { TLSSocket } from 'node:tls'
import { X509Certificate } from 'node:crypto'
import { startServer, type RunningServer, type ServerOptions } from '../../src/admission/server.js'
import { createLogger } from '../../src/admission/logger.js'
import { TlsFilesError } from '../../src/admission/tls.js'
import { PolicyError } from '../../src/policy/policy.js'
import type { StartCompanion, StartLiveClusterView } from '../../src/admission/seams.js'
import type { PodRule } from '../../src/engine/rule.js'
import { TEST_RULES, clusterOnly, container, pod, review } from './helpers.js'

const run = promisify(execFile)
const GENERATE = new URL('../../certs/generate.sh', import.meta.url).pathname

async function certs(dir: string, ...args: string[]): Promise<{ ca: string; cert: string; key: string }> {
  await run('bash', [GENERATE, '--out', dir, '--dev', ...args])
  return { ca: join(dir, 'ca.crt'), cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') }
}

interface Answer {
  status: number
  body: string
  fingerprint: string
}

function call(url: string, ca: string | Buffer, method = 'GET', body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, ca, agent: false, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), fingerprint: (res.socket as TLSSocket).getPeerCertificate().fingerprint256 }),
      )
    })
    req.on('error', reject)
    req.end(body)
  })
}

const logger = createLogger('silent')

async function start(t: Test, dir: string, extra: Partial<ServerOptions> = {}): Promise<RunningServer> {
  const s = await startServer({ host: '127.0.0.1', port: 0, tlsCert: join(dir, 'tls.crt'), tlsKey: join(dir, 'tls.key'), reloadIntervalMs: 0, rules: TEST_RULES, policyFile: join(dir, 'policy.yaml'), logger, ...extra })
  t.teardown(() => s.close())
  return s
}

const POLICY = (action: string): string => `apiVersion: pod-preflight/v1\nkind: Policy\nmetadata:\n  name: p-${action}\nrules:\n  test-broken-tag: { action: ${action} }\n`

t.test('serves HTTPS with the certificate from disk and picks up a new one without a restart', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'pp-server-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const first = await certs(dir)
  await writeFile(join(dir, 'policy.yaml'), POLICY('deny'))
  const s = await start(t, dir)
  t.match(s.url, /^https:\/\/127\.0\.0\.1:\d+$/)
  const ca1 = await readFile(first.ca)

  const health = await call(`${s.url}/healthz`, ca1)
  t.equal(health.status, 200)
  const fp1 = new X509Certificate(await readFile(first.cert)).fingerprint256
  t.equal(health.fingerprint, fp1, 'serves the certificate on disk')
  t.equal((await call(`${s.url}/readyz`, ca1)).status, 200, 'ready once the policy is loaded')

  const denied = await call(`${s.url}/validate`, ca1, 'POST', JSON.stringify(review(pod([container({ image: 'a.example/b:broken' })]))))
  t.equal(denied.status, 200)
  t.match(denied.body, /"allowed":false/)

  // A renewal: a new certificate from a new CA lands on disk (key first, as cert-manager and generate.sh do).
  const other = await mkdtemp(join(tmpdir(), 'pp-server-2-'))
  t.teardown(() => rm(other, { recursive: true, force: true }))
  const second = await certs(other)
  await copyFile(second.key, join(dir, 'tls.key.new'))
  await rename(join(dir, 'tls.key.new'), first.key)
  await s.reloadNow()
  // Half-way: new key, old certificate. The server keeps serving the old pair.
  t.equal((await call(`${s.url}/healthz`, ca1)).fingerprint, fp1, 'a mismatched pair is not taken')
  await copyFile(second.cert, join(dir, 'tls.crt.new'))
  await rename(join(dir, 'tls.crt.new'), first.cert)
  await s.reloadNow()
  const ca2 = await readFile(second.ca)
  const after = await call(`${s.url}/healthz`, ca2)
  t.equal(after.fingerprint, new X509Certificate(await readFile(second.cert)).fingerprint256, 'new connections get the new certificate')
  await t.rejects(call(`${s.url}/healthz`, ca1), 'the old CA no longer verifies it')
  const metrics = (await call(`${s.url}/metrics`, ca2)).body
  t.match(metrics, /^pod_preflight_tls_reloads_total\{result="ok"\} 1$/m)
  t.match(metrics, /^pod_preflight_tls_reloads_total\{result="error"\} 1$/m)
  t.match(metrics, /^pod_preflight_tls_certificate_expiry_timestamp_seconds \d{10}$/m)
})

t.test('a changed policy file is picked up; a broken one is refused and the old one stays', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'pp-policy-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const c = await certs(dir)
  const ca = await readFile(c.ca)
  await writeFile(join(dir, 'policy.yaml'), POLICY('deny'))
  const s = await start(t, dir)
  const bad = JSON.stringify(review(pod([container({ image: 'a.example/b:broken' })])))
  t.match((await call(`${s.url}/validate`, ca, 'POST', bad)).body, /"allowed":false/)

  await writeFile(join(dir, 'policy.yaml'), POLICY('warn'))
  await s.reloadNow()
  const warned = await call(`${s.url}/validate`, ca, 'POST', bad)
  t.match(warned.body, /"allowed":true/)
  t.match(warned.body, /test-broken-tag: container/)

  await writeFile(join(dir, 'policy.yaml'), POLICY('dney'))
  await s.reloadNow()
  t.match((await call(`${s.url}/validate`, ca, 'POST', bad)).body, /"allowed":true/, 'a typo does not change the policy in force')
  t.match((await call(`${s.url}/metrics`, ca)).body, /^pod_preflight_policy_reloads_total\{result="error"\} 1$/m)
})

t.test('startup errors are explained', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'pp-errors-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await t.rejects(start(t, dir), TlsFilesError, 'no certificate files')
  await t.rejects(start(t, dir), /cannot read the TLS certificate .*tls\.crt \(no such file\); create one with certs\/generate\.sh/)
  await certs(dir)
  await writeFile(join(dir, 'policy.yaml'), POLICY('sometimes'))
  await t.rejects(start(t, dir), PolicyError, 'a bad policy file')
  const other = await mkdtemp(join(tmpdir(), 'pp-errors-2-'))
  t.teardown(() => rm(other, { recursive: true, force: true }))
  await certs(other)
  await writeFile(join(dir, 'policy.yaml'), POLICY('deny'))
  await t.rejects(start(t, dir, { tlsKey: join(other, 'tls.key') }), /cannot be used together/, 'a key that does not match')
})

t.test('--cluster: /readyz waits for the live view; cluster rules run once it has synced', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'pp-live-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const c = await certs(dir)
  const ca = await readFile(c.ca)
  await writeFile(join(dir, 'policy.yaml'), POLICY('deny'))
  let age: number | undefined
  const view = { synced: false, stateAgeMs: () => age }
  let markReady: () => void = () => undefined
  let stopped = false
  let detail = 'cluster view: not synced yet'
  const liveClusterView: StartLiveClusterView = () => ({
    view: view as never,
    ready: new Promise<void>((resolve) => {
      markReady = resolve
    }),
    detail: () => detail,
    status: () => [
      { resource: 'nodes', ageSeconds: Math.round((age ?? 0) / 1000), unavailable: undefined },
      { resource: 'secrets', ageSeconds: 0, unavailable: 'forbidden: no' },
    ],
    stop: () => {
      stopped = true
    },
  })
  const rules = [...TEST_RULES, clusterOnly as PodRule<unknown>]
  // A kubeconfig is read for the live view; give a minimal one.
  const kubeconfig = join(dir, 'kubeconfig')
  await writeFile(
    kubeconfig,
    'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n',
  )
  const s = await start(t, dir, { rules, cluster: true, kubeconfig, seams: { liveClusterView } })
  const notYet = await call(`${s.url}/readyz`, ca)
  t.equal(notYet.status, 503)
    t.match(notYet.body, /^not ready: waiting for cluster view\npolicy: \S+ \(enforce\) from /)
  const early = await call(`${s.url}/validate`, ca, 'POST', JSON.stringify(review(pod())))
  t.match(early.body, /has not synced the cluster state yet; rules that need it were skipped/)

  view.synced = true
  markReady()
  await new Promise((r) => setImmediate(r))
  t.equal((await call(`${s.url}/readyz`, ca)).status, 200)
  t.match((await call(`${s.url}/validate`, ca, 'POST', JSON.stringify(review(pod())))).body, /test-cluster-only: cluster rule ran/)

  // Stale: still ready (the other rules judge), with the age in the detail, the warning and the metric.
  age = 70_400
  view.synced = false
  detail = 'cluster view: state is 70 s old (stale after 60 s): cluster rules skipped; nodes down 70 s (ECONNREFUSED)'
  const stale = await call(`${s.url}/readyz`, ca)
  t.equal(stale.status, 200, 'a stale view keeps the replica ready')
  t.match(stale.body, /\ncluster view: state is 70 s old \(stale after 60 s\): cluster rules skipped; nodes down 70 s \(ECONNREFUSED\)\n/)
  const staleReview = (await call(`${s.url}/validate`, ca, 'POST', JSON.stringify(review(pod())))).body
  t.match(staleReview, /pod-preflight: cluster state is 70 s old; cluster rules skipped/)
  t.notMatch(staleReview, /has not synced/)
  t.notMatch(staleReview, /cluster rule ran/)
  const metrics = (await call(`${s.url}/metrics`, ca)).body
  t.match(metrics, /^# TYPE pod_preflight_cluster_state_age_seconds gauge$/m)
  t.match(metrics, /^pod_preflight_cluster_state_age_seconds\{resource="nodes"\} 70$/m)
  t.notMatch(metrics, /pod_preflight_cluster_state_age_seconds\{resource="secrets"\}/, 'no age for a resource that is refused')
  await s.close()
  t.ok(stopped, 'the view is stopped with the server')
})

t.test('--companion: diagnoses are counted by cause', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'pp-companion-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const c = await certs(dir)
  const ca = await readFile(c.ca)
  await writeFile(join(dir, 'policy.yaml'), POLICY('deny'))
  const kubeconfig = join(dir, 'kubeconfig')
  await writeFile(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n')
  let stopped = false
  const companion: StartCompanion = ({ onDiagnosis }) => {
    onDiagnosis('oom-killed', { pod: { namespace: 'a', name: 'b' }, summary: 'x' })
    onDiagnosis('oom-killed')
    onDiagnosis('command-not-found')
    return { stop: () => void (stopped = true) }
  }
  const s = await start(t, dir, { companion: true, kubeconfig, seams: { companion } })
  const m = (await call(`${s.url}/metrics`, ca)).body
  t.match(m, /^pod_preflight_companion_diagnoses_total\{cause="oom-killed"\} 2$/m)
  t.match(m, /^pod_preflight_companion_diagnoses_total\{cause="command-not-found"\} 1$/m)
  await s.close()
  t.ok(stopped)
})
