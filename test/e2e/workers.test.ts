/**
 * serve --workers 2 end to end: the built CLI (node dist/cli/bin.js serve --workers 2 ...)
 * registered with a real kube-apiserver, reviews sent through it with the real kubectl, and the
 * processes handled as the kubelet would: a worker killed with SIGKILL, SIGTERM to the primary.
 */
import t from 'tap'
import { X509Certificate } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:tls'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run, startCluster, type TestCluster } from './harness/cluster.js'
import { badPod, deniedBy, ensureBuilt, get, registerWebhook, ROOT, sleep, startWebhook, type Webhook } from './harness/webhook.js'

t.setTimeout(600_000)

const NS = 'e2e-workers'
const BAD_POD = badPod(NS)
const policy = (mode: string): string => `apiVersion: pod-preflight/v1\nkind: Policy\nmetadata:\n  name: workers-${mode}\nmode: ${mode}\n`

let cluster: TestCluster
let webhook: Webhook
let dir: string
let policyFile: string

t.before(async () => {
  await ensureBuilt()
  dir = await mkdtemp(join(tmpdir(), 'pod-preflight-workers-e2e-'))
  policyFile = join(dir, 'policy.yaml')
  await writeFile(policyFile, policy('enforce'))
  cluster = await startCluster()
  webhook = await startWebhook(dir, ['--workers=2', `--policy=${policyFile}`, '--reload-interval=300ms', '--shutdown-timeout=3s'])
  await cluster.applyYaml(`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${NS}\n`)
  await registerWebhook(cluster, webhook, BAD_POD)
})

t.teardown(async () => {
  await webhook?.stop()
  await cluster?.stop()
  if (dir !== undefined && process.env['POD_PREFLIGHT_KEEP_E2E'] !== '1') await rm(dir, { recursive: true, force: true })
})

/** The sum of every series of a counter in a scrape. */
function total(metrics: string, name: string): number {
  let sum = 0
  for (const line of metrics.split('\n')) {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`).exec(line)
    if (m !== null) sum += Number(m[1])
  }
  return sum
}

async function scrape(): Promise<string> {
  const r = await get(`${webhook.url}/metrics`, webhook.caPem)
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}: ${r.body}`)
  return r.body
}

/** One review straight to the webhook over a new connection (so that connections go round the workers). */
function review(uid: string): Promise<{ allowed: boolean; warnings: string[] }> {
  const body = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: NS,
      operation: 'CREATE',
      userInfo: { username: 'e2e' },
      object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: `direct-${uid}`, namespace: NS }, spec: { containers: [{ name: 'shell', image: 'busybox:1.36.1', resources: { limits: { memory: '512m' } } }] } },
    },
  })
  return new Promise((resolve, reject) => {
    const req = request(`${webhook.url}/validate`, { method: 'POST', ca: webhook.caPem, agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (text += c))
      res.on('end', () => {
        const r = (JSON.parse(text) as { response: { allowed: boolean; warnings?: string[] } }).response
        resolve({ allowed: r.allowed, warnings: r.warnings ?? [] })
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function workerPids(): Promise<number[]> {
  const listening = (await webhook.logs()).filter((l) => l['msg'] === 'listening' && Array.isArray(l['pids']))
  return (listening.at(-1)?.['pids'] as number[] | undefined) ?? []
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await fn().catch(() => undefined)
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(200)
  }
}

t.test('reviews through the API server are answered, and one scrape counts every review of both workers', async (t) => {
  const pids = await workerPids()
  t.equal(pids.length, 2, 'the primary started two workers')
  const before = total(await scrape(), 'pod_preflight_admission_reviews_total')
  const THROUGH_API = 5
  for (let i = 0; i < THROUGH_API; i++) {
    const r = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: BAD_POD })
    t.ok(deniedBy(r), `denied through the API server (${r.stderr.slice(0, 200)})`)
  }
  const DIRECT = 8
  const answers = await Promise.all(Array.from({ length: DIRECT }, (_, i) => review(`direct-${i}`)))
  t.ok(answers.every((a) => !a.allowed), 'every direct review is denied')
  const metrics = await scrape()
  t.equal(total(metrics, 'pod_preflight_admission_reviews_total') - before, THROUGH_API + DIRECT, 'the totals are the sum of the reviews sent')
  t.equal(total(metrics, 'pod_preflight_admission_review_duration_seconds_count') - before, THROUGH_API + DIRECT, 'and the histogram counts them too')
  t.match(metrics, /^pod_preflight_workers 2$/m)
  t.match(metrics, /^pod_preflight_ready 1$/m)
  const writers = new Set((await webhook.logs()).filter((l) => l['msg'] === 'review').map((l) => l['worker']))
  t.same([...writers].sort(), [...pids].sort(), 'both workers judged reviews (each review line names its worker)')
})

t.test('a policy edit reaches every worker; a broken edit keeps the policy in force everywhere', async (t) => {
  await writeFile(policyFile, policy('audit'))
  const allowed = await until('the audit policy through the API server', async () => {
    const r = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: BAD_POD })
    return r.code === 0 ? r : undefined
  })
  t.match(allowed.stderr, /Warning: .*command-missing/, 'allowed with warnings in audit mode')
  const since = (await webhook.logs()).length
  const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => review(`audit-${i}`)))
  t.ok(answers.every((a) => a.allowed), 'every worker judges in audit mode')
  const lines = (await webhook.logs()).slice(since).filter((l) => l['msg'] === 'review')
  t.equal(new Set(lines.map((l) => l['worker'])).size, 2, 'reviews of both workers')
  t.ok(lines.every((l) => l['mode'] === 'audit'), 'all in audit mode')

  await writeFile(policyFile, `${policy('enforce')}rules: [unclosed\n`)
  const readyz = await until('the refused edit in /readyz', async () => {
    const r = await get(`${webhook.url}/readyz`, webhook.caPem)
    return r.body.includes('was refused') ? r : undefined
  })
  t.equal(readyz.status, 200, 'still ready: the policy in force serves')
  t.match(readyz.body, /policy: workers-audit \(audit\)/)
  t.match(await scrape(), /^pod_preflight_policy_reloads_total\{result="error"\} 1$/m)
  const after = await Promise.all(Array.from({ length: 8 }, (_, i) => review(`broken-${i}`)))
  t.ok(after.every((a) => a.allowed), 'every worker keeps the audit policy')
  await writeFile(policyFile, policy('enforce'))
  await until('enforce again', async () => ((await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: BAD_POD })).code !== 0 ? true : undefined))
})

t.test('a worker killed with SIGKILL is replaced, and the webhook keeps answering', async (t) => {
  const [victim, other] = await workerPids()
  if (victim === undefined || other === undefined) throw new Error('no worker pids logged')
  const before = total(await scrape(), 'pod_preflight_admission_reviews_total')
  process.kill(victim, 'SIGKILL')
  // The API server's open connection to the dead worker breaks; its next call opens another.
  await until('a denial through the API server after the kill', async () => (deniedBy(await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: BAD_POD })) ? true : undefined))
  const logs = await until('the restart', async () => {
    const l = await webhook.logs()
    return l.some((x) => x['msg'] === 'worker exited unexpectedly; starting another' && x['pid'] === victim && x['signal'] === 'SIGKILL') ? l : undefined
  })
  t.ok(logs.length > 0, 'the death is logged with the pid and signal')
  const metrics = await until('two workers and ready again', async () => {
    const m = await scrape()
    return /^pod_preflight_workers 2$/m.test(m) && /^pod_preflight_ready 1$/m.test(m) ? m : undefined
  })
  t.match(metrics, /^pod_preflight_worker_restarts_total 1$/m)
  t.ok(total(metrics, 'pod_preflight_admission_reviews_total') >= before, 'the dead worker\'s counts stay in the totals')
  t.equal((await get(`${webhook.url}/readyz`, webhook.caPem)).status, 200)
  const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => review(`after-kill-${i}`)))
  t.ok(answers.every((a) => !a.allowed), 'the new worker and the old one both judge')
  t.ok(alive(other), 'the other worker was left alone')
  t.notOk(alive(victim))
})

/** The fingerprint of the certificate served on a new connection. */
function servedFingerprint(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: webhook.port, ca: webhook.caPem, servername: 'localhost' }, () => {
      const fp = socket.getPeerCertificate().fingerprint256
      socket.end()
      resolve(fp)
    })
    socket.on('error', reject)
  })
}

t.test('a renewed certificate file is served by every worker', async (t) => {
  const old = await servedFingerprint()
  // The same CA signs a new serving certificate (generate.sh reuses the CA in the directory).
  const gen = await run('bash', [join(ROOT, 'certs/generate.sh'), '--dev', '--out', dir], { timeoutMs: 60_000 })
  t.equal(gen.code, 0, gen.stderr)
  const fresh = new X509Certificate(await readFile(join(dir, 'tls.crt'))).fingerprint256
  t.not(fresh, old)
  await until('the new certificate on a new connection', async () => ((await servedFingerprint()) === fresh ? true : undefined))
  const seen = await Promise.all(Array.from({ length: 8 }, () => servedFingerprint()))
  t.same(new Set(seen), new Set([fresh]), 'eight new connections, spread over both workers, all get the new certificate')
  t.match(await scrape(), /^pod_preflight_tls_reloads_total\{result="ok"\} [1-9]/m)
})

t.test('SIGTERM to the primary closes every worker and exits 0', async (t) => {
  const logsBefore = await webhook.logs()
  const pids = new Set<number>()
  for (const l of logsBefore) if (typeof l['worker'] === 'number') pids.add(l['worker'])
  const running = [...pids].filter(alive)
  t.equal(running.length, 2, `two workers run (${JSON.stringify([...pids])} logged, ${JSON.stringify(running)} alive)`)
  await webhook.stop()
  t.equal(await webhook.exited, 0, 'exit status 0')
  const logs = await webhook.logs()
  t.equal(logs.filter((l) => l['msg'] === 'worker stopped').length, 2, 'each worker stopped')
  t.ok(logs.some((l) => l['msg'] === 'stopped'), 'the primary stopped')
  t.notOk(logs.some((l) => l['msg'] === 'worker exited unexpectedly; starting another' && logs.indexOf(l) > logsBefore.length), 'no restart during the shutdown')
  t.ok(running.every((p) => !alive(p)), 'no worker left running')
})
