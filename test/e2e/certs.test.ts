/**
 * Self-managed certificates end to end on the real kube-apiserver: two `pod-preflight serve
 * --tls-secret ...` processes started at once, as the image starts them, authenticated as the
 * installed ServiceAccount and holding exactly the RBAC `pod-preflight install` renders for the
 * mode (and nothing more: what it may not do is asked too), with nothing registered by hand:
 * they agree on one Secret, fill in the empty caBundle of the webhook
 * configuration (a url clientConfig, as an installer's object would be), the API server then
 * refuses a bad Pod through them, and a renewal under a short --cert-validity happens while
 * dry-run applies keep running, without one failed call.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdtemp, open, readFile, rm } from 'node:fs/promises'
import { connect } from 'node:tls'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse, parseAllDocuments } from 'yaml'
import { freePorts, run, startCluster, type TestCluster, type UserAccess } from './harness/cluster.js'
import { BIN, ROOT, SUPERVISOR, badPod, deniedBy, ensureBuilt, sleep } from './harness/webhook.js'

t.setTimeout(900_000)

const NS = 'e2e-certs'
const INSTALL_NS = 'pod-preflight'
const VALIDITY_S = 45

let cluster: TestCluster
let dir: string
/** The installed ServiceAccount's credentials (user system:serviceaccount:pod-preflight:pod-preflight). */
let sa: UserAccess
type Obj = Record<string, any>
const RBAC_KINDS = ['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding']
let rbac: Obj[] = []
const stops: (() => Promise<void>)[] = []

/** Starts serve in the self-managed mode under the harness supervisor; resolves with its port. */
async function startServe(port: number, name: string): Promise<string> {
  const logPath = join(dir, `${name}.log`)
  const log = await open(logPath, 'a')
  const proc = spawn(
    'bash',
    [
      '-c', SUPERVISOR, 'webhook-supervisor', String(process.pid), process.execPath, BIN, 'serve',
      '--host=127.0.0.1', `--port=${port}`,
      '--tls-secret=pod-preflight-tls', '--webhook-configuration=pod-preflight', '--service=pod-preflight',
      `--namespace=${INSTALL_NS}`, `--cert-validity=${VALIDITY_S}s`, '--reload-interval=1s', '--shutdown-delay=0s',
      `--kubeconfig=${sa.kubeconfigPath}`,
    ],
    { cwd: ROOT, detached: true, stdio: ['ignore', log.fd, log.fd] },
  )
  await log.close()
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
  stops.push(async () => {
    try { if (proc.pid !== undefined) process.kill(-proc.pid, 'SIGTERM') } catch { /* gone */ }
    await Promise.race([exited, sleep(10_000)])
  })
  return logPath
}

/** The certificate a TLS handshake with the process on `port` is served. */
function servedCertificate(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' }, () => {
      const c = s.getPeerX509Certificate()
      s.end()
      if (c === undefined) reject(new Error('no certificate'))
      else resolve(c)
    })
    s.on('error', reject)
    s.setTimeout(5_000, () => s.destroy(new Error('timeout')))
  })
}

/**
 * The certificate the process on `port` serves, once it serves one: the other replica may still be
 * starting (or reading the Secret its peer created) when the first already answers the API server.
 */
async function servedWhenListening(port: number, logs: string[], timeoutMs = 60_000): Promise<X509Certificate> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await servedCertificate(port)
    } catch (err) {
      if (Date.now() > deadline) {
        const said = (await Promise.all(logs.map((l) => readFile(l, 'utf8')))).join('\n').slice(-8_000)
        throw new Error(`nothing served on port ${port} within ${timeoutMs / 1000} s (${(err as Error).message}); the replicas said:\n${said}`)
      }
      await sleep(250)
    }
  }
}

async function secretData(): Promise<Record<string, string> | undefined> {
  const r = await cluster.kubectl(['-n', INSTALL_NS, 'get', 'secret', 'pod-preflight-tls', '-o', 'json'])
  if (r.code !== 0) return undefined
  const data = (JSON.parse(r.stdout) as { data?: Record<string, string> }).data ?? {}
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]))
}

async function caBundles(): Promise<string[]> {
  const r = await cluster.kubectl(['get', 'validatingwebhookconfiguration', 'pod-preflight', '-o', 'json'])
  const vwc = JSON.parse(r.stdout) as { webhooks: { clientConfig: { caBundle?: string } }[] }
  return vwc.webhooks.map((w) => Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString('utf8'))
}

t.before(async () => {
  await ensureBuilt()
  dir = await mkdtemp(join(tmpdir(), 'pod-preflight-certs-e2e-'))
  cluster = await startCluster()
  await cluster.applyYaml(`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${NS}\n`)
  // The installation's Namespace, ServiceAccount and RBAC, as `install` renders them for this server.
  const r = await run(process.execPath, [BIN, 'install', `--kubeconfig=${cluster.kubeconfigPath}`], { cwd: ROOT, timeoutMs: 120_000 })
  if (r.code !== 0) throw new Error(`install failed: ${r.stderr}`)
  const objects = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj)
  rbac = objects.filter((o) => RBAC_KINDS.includes(o['kind']))
  const items = objects.filter((o) => o['kind'] === 'Namespace').concat(rbac)
  await cluster.applyYaml(JSON.stringify({ apiVersion: 'v1', kind: 'List', items }))
  sa = await cluster.serviceAccountKubeconfig(INSTALL_NS, 'pod-preflight')
})

t.teardown(async () => {
  for (const s of stops) await s()
  await cluster?.stop()
  if (dir !== undefined && process.env['POD_PREFLIGHT_KEEP_E2E'] !== '1') await rm(dir, { recursive: true, force: true })
})

t.test('the rendered RBAC is exactly what the self-managed mode needs', async (t) => {
  const rules = (kind: string, name: string): unknown =>
    rbac.find((o) => o['kind'] === kind && o['metadata']['name'] === name)?.['rules']
  t.same(rules('Role', 'pod-preflight:tls-secret'), [
    { apiGroups: [''], resources: ['secrets'], resourceNames: ['pod-preflight-tls'], verbs: ['get', 'update'] },
    { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
  ], 'get/update on the one Secret name; create (which RBAC cannot restrict by name) in its namespace')
  t.same(rules('ClusterRole', 'pod-preflight:webhook-configuration'), [
    { apiGroups: ['admissionregistration.k8s.io'], resources: ['validatingwebhookconfigurations'], resourceNames: ['pod-preflight'], verbs: ['get', 'patch'] },
  ], 'get/patch on the one webhook configuration name')
  t.same(rbac.filter((o) => o['kind'] === 'ClusterRole' || o['kind'] === 'Role').map((o) => o['metadata']['name']).sort(), ['pod-preflight:tls-secret', 'pod-preflight:webhook-configuration'], 'no other role in this mode')
  // What the service account may and may not do, asked of the API server's authorizer.
  const can = async (args: string[]): Promise<string> => (await sa.kubectl(['auth', 'can-i', ...args])).stdout.trim()
  for (const [args, want] of [
    [['get', 'secret/pod-preflight-tls', '-n', INSTALL_NS], 'yes'],
    [['update', 'secret/pod-preflight-tls', '-n', INSTALL_NS], 'yes'],
    [['create', 'secrets', '-n', INSTALL_NS], 'yes'],
    [['patch', 'validatingwebhookconfiguration/pod-preflight'], 'yes'],
    [['get', 'secret/other', '-n', INSTALL_NS], 'no'],
    [['list', 'secrets', '-n', INSTALL_NS], 'no'],
    [['watch', 'secrets', '-n', INSTALL_NS], 'no'],
    [['delete', 'secret/pod-preflight-tls', '-n', INSTALL_NS], 'no'],
    [['create', 'secrets', '-n', NS], 'no'],
    [['get', 'secret/pod-preflight-tls', '-n', NS], 'no'],
    [['patch', 'validatingwebhookconfiguration/other'], 'no'],
    [['list', 'validatingwebhookconfigurations'], 'no'],
    [['delete', 'validatingwebhookconfiguration/pod-preflight'], 'no'],
  ] as const) {
    t.equal(await can([...args]), want, `can-i ${args.join(' ')}: ${want}`)
  }
})

t.test('two replicas create one Secret, fill in the caBundle, and stay trusted across a renewal', async (t) => {
  const [p1, p2] = (await freePorts(2)) as [number, number]
  // The installer's object: an empty caBundle and a url clientConfig (loopback here, where the test runs the webhook).
  const config = parse(await readFile(join(ROOT, 'manifests/base/40-validatingwebhookconfiguration.yaml'), 'utf8')) as { webhooks: { clientConfig: unknown; failurePolicy: string }[] }
  for (const w of config.webhooks) {
    w.clientConfig = { url: `https://127.0.0.1:${p1}/validate` }
    // Fail: a call the API server cannot make shows up as a failed apply, not as an unchecked pass.
    w.failurePolicy = 'Fail'
  }
  await cluster.applyYaml(JSON.stringify(config))
  const logs = await Promise.all([startServe(p1, 'one'), startServe(p2, 'two')])

  const probe = badPod(NS)
  const deadline = Date.now() + 120_000
  let last = ''
  for (;;) {
    const r = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: probe })
    if (deniedBy(r)) break
    last = `${r.code}: ${r.stderr}${r.stdout}`
    if (Date.now() > deadline) {
      t.fail(`the bad Pod was never refused; last answer ${last}\n${(await Promise.all(logs.map((l) => readFile(l, 'utf8')))).join('\n')}`)
      return
    }
    await sleep(500)
  }
  t.pass('the API server refuses the bad Pod through the self-registered webhook')

  const data = await secretData()
  t.ok(data?.['tls.crt'] !== undefined && data['ca.crt'] !== undefined, 'the Secret holds the certificate and its CA')
  const first = new X509Certificate(data?.['tls.crt'] ?? '')
  const [s1, s2] = await Promise.all([servedWhenListening(p1, logs), servedWhenListening(p2, logs)])
  t.equal(s1.fingerprint256, first.fingerprint256, 'replica one serves the Secret\'s certificate')
  t.equal(s2.fingerprint256, first.fingerprint256, 'replica two serves the same one')
  const created = (await Promise.all(logs.map((l) => readFile(l, 'utf8')))).join('').split('\n').filter((l) => l.includes('"certificate created"'))
  t.equal(created.length, 1, 'exactly one replica created the Secret')
  for (const b of await caBundles()) t.ok(b.includes((data?.['ca.crt'] ?? '').trim()), 'every webhook entry trusts the CA')

  // The renewal: at 2/3 of the lifetime a new CA is published, then served, then the old one dropped.
  // Dry-run applies run all along; every one must come back refused by the webhook.
  const until = new Date(first.validTo).getTime() + 8_000
  let calls = 0
  const failures: string[] = []
  let sawTwoCas = false
  while (Date.now() < until) {
    const r = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: probe })
    calls++
    if (!deniedBy(r)) failures.push(`${r.code}: ${(r.stderr + r.stdout).slice(0, 300)}`)
    if ((await caBundles()).every((b) => (b.match(/BEGIN CERTIFICATE/g) ?? []).length === 2)) sawTwoCas = true
  }
  t.ok(calls > 10, `${calls} calls made across the renewal`)
  t.same(failures, [], 'no call failed across the renewal')
  t.ok(sawTwoCas, 'old and new CA were published side by side')
  const [r1, r2] = await Promise.all([servedCertificate(p1), servedCertificate(p2)])
  t.not(r1.fingerprint256, first.fingerprint256, 'replica one serves the renewed certificate')
  t.equal(r2.fingerprint256, r1.fingerprint256, 'replica two serves it too')
  t.ok(new Date(r1.validTo).getTime() > Date.now(), 'what is served has not expired')
  // The old CA leaves once its certificate has expired (the replicas look every second).
  let after = await secretData()
  for (let i = 0; i < 30 && after?.['previous-ca.crt'] !== undefined; i++) {
    await sleep(1_000)
    after = await secretData()
  }
  t.equal(after?.['previous-ca.crt'], undefined, 'the old CA has left the Secret once its certificate expired')
  for (const b of await caBundles()) t.equal((b.match(/BEGIN CERTIFICATE/g) ?? []).length, 1, 'and the caBundle')
})
