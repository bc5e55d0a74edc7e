/**
 * The admission webhook end to end: a real etcd + kube-apiserver, `pod-preflight serve` started
 * the way the image starts it (node dist/cli/bin.js serve ...), registered with the
 * ValidatingWebhookConfiguration from manifests/ (clientConfig pointed at loopback), and the
 * real kubectl applying manifests to it.
 */
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { mkdtemp, open, readFile, rm } from 'node:fs/promises'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { freePort, run, startCluster, type TestCluster } from './harness/cluster.js'

t.setTimeout(600_000)

const ROOT = new URL('../../', import.meta.url).pathname
const BIN = join(ROOT, 'dist/cli/bin.js')
const NS = 'e2e-webhook'
const WEBHOOK = 'validate.pod-preflight.io'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name)
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p))
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs)
  }
  return newest
}

/** `npm test` builds before tap runs; a test run on its own builds when dist/ is missing or older than src/. */
async function ensureBuilt(): Promise<void> {
  if (existsSync(BIN) && statSync(BIN).mtimeMs >= newestMtime(join(ROOT, 'src'))) return
  const r = await run('npm', ['run', 'build', '--silent'], { cwd: ROOT, timeoutMs: 300_000 })
  if (r.code !== 0 || !existsSync(BIN)) throw new Error(`npm run build failed (${r.code}):\n${r.stdout}${r.stderr}`)
}

function get(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, agent: false, timeout: 5_000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
    req.end()
  })
}

/**
 * Runs the webhook under a bash supervisor in its own process group that kills it when this
 * test process goes away, even by SIGKILL, so no server outlives the run.
 */
const SUPERVISOR = `
parent=$1; shift
"$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit $?' TERM INT
while kill -0 "$child" 2>/dev/null; do
  if ! kill -0 "$parent" 2>/dev/null; then kill -KILL "$child" 2>/dev/null; exit 0; fi
  sleep 0.5 & wait $!
done
wait "$child"
`

interface Webhook {
  url: string
  port: number
  caPem: string
  logPath: string
  proc: ChildProcess
  exited: Promise<number>
  stop(): Promise<void>
  logs(): Promise<Record<string, unknown>[]>
}

async function startWebhook(dir: string, extraArgs: string[] = [], readyTimeoutMs = 60_000): Promise<Webhook> {
  const gen = await run('bash', [join(ROOT, 'certs/generate.sh'), '--dev', '--out', dir], { timeoutMs: 60_000 })
  if (gen.code !== 0) throw new Error(`certs/generate.sh failed: ${gen.stderr}`)
  const caPem = await readFile(join(dir, 'ca.crt'), 'utf8')
  const port = await freePort()
  const logPath = join(dir, 'webhook.log')
  const log = await open(logPath, 'a')
  const args = [
    BIN,
    'serve',
    '--host=127.0.0.1',
    `--port=${port}`,
    `--tls-cert=${join(dir, 'tls.crt')}`,
    `--tls-key=${join(dir, 'tls.key')}`,
    '--time-budget=2500ms',
    ...extraArgs,
  ]
  const proc = spawn('bash', ['-c', SUPERVISOR, 'webhook-supervisor', String(process.pid), process.execPath, ...args], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', log.fd, log.fd],
  })
  await log.close()
  let done = false
  const exited = new Promise<number>((resolve) => proc.once('exit', (code) => { done = true; resolve(code ?? 128) }))
  const onExit = (): void => {
    if (!done && proc.pid !== undefined) {
      try { process.kill(-proc.pid, 'SIGKILL') } catch { /* gone */ }
    }
  }
  process.once('exit', onExit)
  const url = `https://127.0.0.1:${port}`
  const webhook: Webhook = {
    url,
    port,
    caPem,
    logPath,
    proc,
    exited,
    stop: async () => {
      if (done || proc.pid === undefined) return
      try { process.kill(-proc.pid, 'SIGTERM') } catch { /* gone */ }
      const timedOut = await Promise.race([exited.then(() => false), sleep(10_000).then(() => true)])
      if (timedOut) try { process.kill(-proc.pid, 'SIGKILL') } catch { /* gone */ }
      await Promise.race([exited, sleep(5_000)])
      process.off('exit', onExit)
    },
    logs: async () =>
      (await readFile(logPath, 'utf8'))
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  }
  // Ready means: listening, TLS with our CA works, policy loaded.
  const deadline = Date.now() + readyTimeoutMs
  for (;;) {
    if (done) throw new Error(`pod-preflight serve exited with ${await exited}:\n${await readFile(logPath, 'utf8')}`)
    try {
      const r = await get(`${url}/readyz`, caPem)
      if (r.status === 200) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`pod-preflight serve was not ready within ${readyTimeoutMs / 1000} s:\n${await readFile(logPath, 'utf8')}`)
    await sleep(200)
  }
  return webhook
}

/** The ValidatingWebhookConfiguration from manifests/, pointed at the webhook on loopback. */
async function webhookConfiguration(webhook: Webhook): Promise<string> {
  const text = await readFile(join(ROOT, 'manifests/40-validatingwebhookconfiguration.yaml'), 'utf8')
  const config = parse(text) as { webhooks: { clientConfig: unknown }[] }
  for (const w of config.webhooks) {
    w.clientConfig = { url: `${webhook.url}/validate`, caBundle: Buffer.from(webhook.caPem).toString('base64') }
  }
  return JSON.stringify(config)
}

// ---------------------------------------------------------------------------
// Manifests
// ---------------------------------------------------------------------------

const resources = `
          resources:
            requests: { cpu: 50m, memory: 64Mi, ephemeral-storage: 64Mi }
            limits: { memory: 64Mi, ephemeral-storage: 64Mi }`

/** busybox without a command exits at once (command-missing); 512m is half a byte (memory-quantity-suspicious). */
const BAD_POD = `apiVersion: v1
kind: Pod
metadata:
  name: bad-pod
  namespace: ${NS}
spec:
  containers:
    - name: shell
      image: busybox:1.36.1
      resources:
        limits: { memory: 512m }
`

function deployment(name: string, container: string, extra = ''): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${NS}
spec:
  replicas: 2
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers:
${container}${extra}
`
}

const BAD_CONTAINER = `        - name: api
          image: busybox:1.36.1
          command: ["python app.py"]` + resources

const GOOD_CONTAINER = `        - name: web
          image: nginx:1.27.0
          ports: [{ name: http, containerPort: 80 }]` + resources

const WARN_CONTAINER = `        - name: web
          image: nginx:1.27.0
          imagePullPolicy: Never
          ports: [{ name: http, containerPort: 80 }]` + resources

function deniedBy(r: { code: number; stderr: string }): boolean {
  return r.code !== 0 && r.stderr.includes(`admission webhook "${WEBHOOK}" denied the request`)
}

// ---------------------------------------------------------------------------

let cluster: TestCluster
let webhook: Webhook
let dir: string

t.before(async () => {
  await ensureBuilt()
  dir = await mkdtemp(join(tmpdir(), 'pod-preflight-webhook-e2e-'))
  cluster = await startCluster()
  webhook = await startWebhook(dir)
  await cluster.applyYaml(`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${NS}\n`)
  // Register only once the webhook answers (its failurePolicy would let requests through otherwise).
  await cluster.applyYaml(await webhookConfiguration(webhook))
  // The API server picks the configuration up asynchronously; wait until it calls the webhook.
  const deadline = Date.now() + 60_000
  for (;;) {
    const r = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: BAD_POD })
    if (deniedBy(r)) break
    if (Date.now() > deadline) throw new Error(`the API server never called the webhook; last answer (${r.code}): ${r.stderr}${r.stdout}`)
    await sleep(500)
  }
})

t.teardown(async () => {
  await webhook?.stop()
  await cluster?.stop()
  if (dir !== undefined && process.env['POD_PREFLIGHT_KEEP_E2E'] !== '1') await rm(dir, { recursive: true, force: true })
})

t.test('a bad Pod is refused by kubectl apply --dry-run=server, with our message', async (t) => {
  const r = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: BAD_POD })
  t.not(r.code, 0, 'kubectl fails')
  t.match(r.stderr, `admission webhook "${WEBHOOK}" denied the request: pod-preflight: Pod ${NS}/bad-pod would fail at run time`)
  t.match(r.stderr, /\[command-missing\] spec\.containers\[0\]/)
  t.match(r.stderr, /\[memory-quantity-suspicious\] spec\.containers\[0\]\.resources\.limits\.memory/)
  t.match(r.stderr, /fix: /, 'with the fix')
})

t.test('a bad Deployment is refused by kubectl apply --dry-run=server', async (t) => {
  const r = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: deployment('bad-deploy', BAD_CONTAINER) })
  t.ok(deniedBy(r), `denied (${r.stderr})`)
  t.match(r.stderr, `pod-preflight: Deployment ${NS}/bad-deploy would fail at run time`)
  t.match(r.stderr, /\[command-whitespace-in-executable\] spec\.template\.spec\.containers\[0\]\.command\[0\]/)
})

t.test('a warn-only manifest is accepted and kubectl prints our warnings', async (t) => {
  const r = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: deployment('warn-deploy', WARN_CONTAINER) })
  t.equal(r.code, 0, `accepted (${r.stderr})`)
  t.match(r.stdout, /deployment\.apps\/warn-deploy created \(server dry run\)/)
  const warnings = r.stderr.split('\n').filter((l) => l.startsWith('Warning: '))
  t.ok(warnings.some((w) => w.startsWith('Warning: image-pull-policy-never: container "web" has imagePullPolicy: Never')), r.stderr)
  for (const w of warnings) {
    t.ok(w.length - 'Warning: '.length <= 120, `at most 120 characters: ${w}`)
    t.notMatch(w, /^Warning: warning:/i, 'no doubled prefix')
  }
})

t.test('a good manifest is accepted silently', async (t) => {
  const r = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: deployment('good-deploy', GOOD_CONTAINER) })
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /deployment\.apps\/good-deploy created \(server dry run\)/)
  t.equal(r.stderr.trim(), '', 'no warnings')
})

t.test('a real create of a bad Deployment is refused and nothing is stored', async (t) => {
  const r = await cluster.kubectl(['apply', '-f', '-'], { input: deployment('bad-real', BAD_CONTAINER) })
  t.ok(deniedBy(r), `denied (${r.stderr})`)
  const get = await cluster.kubectl(['get', 'deployment', 'bad-real', '-n', NS])
  t.not(get.code, 0)
  t.match(get.stderr, /NotFound|not found/)
  const create = await cluster.kubectl(['create', '-f', '-'], { input: BAD_POD })
  t.ok(deniedBy(create), 'kubectl create of a bad Pod too')
  t.not((await cluster.kubectl(['get', 'pod', 'bad-pod', '-n', NS])).code, 0, 'no Pod stored')
})

t.test('every pod-bearing kind is judged', async (t) => {
  const template = `
  template:
    metadata: { labels: { app: x } }
    spec:
      restartPolicy: RESTART
      containers:
${BAD_CONTAINER}`
  const spec = (restart: string): string => template.replace('RESTART', restart)
  const objects: Record<string, string> = {
    StatefulSet: `apiVersion: apps/v1\nkind: StatefulSet\nmetadata: { name: x, namespace: ${NS} }\nspec:\n  serviceName: x\n  selector: { matchLabels: { app: x } }${spec('Always')}`,
    DaemonSet: `apiVersion: apps/v1\nkind: DaemonSet\nmetadata: { name: x, namespace: ${NS} }\nspec:\n  selector: { matchLabels: { app: x } }${spec('Always')}`,
    ReplicaSet: `apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: { name: x, namespace: ${NS} }\nspec:\n  selector: { matchLabels: { app: x } }${spec('Always')}`,
    ReplicationController: `apiVersion: v1\nkind: ReplicationController\nmetadata: { name: x, namespace: ${NS} }\nspec:\n  selector: { app: x }${spec('Always')}`,
    Job: `apiVersion: batch/v1\nkind: Job\nmetadata: { name: x, namespace: ${NS} }\nspec:${spec('Never')}`,
    // Kubernetes 1.20 serves CronJobs as batch/v1beta1 only; the configuration registers both versions.
    CronJob: `apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: { name: x, namespace: ${NS} }\nspec:\n  schedule: "*/5 * * * *"\n  jobTemplate:\n    spec:${spec('Never').replace(/\n/g, '\n    ')}`,
  }
  for (const [kind, yaml] of Object.entries(objects)) {
    const r = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: yaml })
    t.ok(deniedBy(r), `${kind} denied (${r.code}: ${r.stderr}${r.stdout})`)
    t.match(r.stderr, `pod-preflight: ${kind} ${NS}/x would fail`)
  }
})

t.test('UPDATE: a legacy workload can be scaled; a new problem is refused', async (t) => {
  // The legacy Deployment predates the webhook: create it in a namespace the webhook skips, then opt the namespace in.
  const legacyNs = 'e2e-legacy'
  await cluster.applyYaml(`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${legacyNs}\n  labels: { pod-preflight.io/webhook: disabled }\n`)
  const legacy = deployment('legacy', BAD_CONTAINER).replace(`namespace: ${NS}`, `namespace: ${legacyNs}`)
  const created = await cluster.kubectl(['apply', '-f', '-'], { input: legacy })
  t.equal(created.code, 0, `an opted-out namespace is not judged (${created.stderr})`)
  const label = await cluster.kubectl(['label', 'namespace', legacyNs, 'pod-preflight.io/webhook-'])
  t.equal(label.code, 0, label.stderr)

  // kubectl scale goes through the scale subresource, which the webhook is not registered for.
  const scaled = await cluster.kubectl(['scale', 'deployment/legacy', '-n', legacyNs, '--replicas=3'])
  t.equal(scaled.code, 0, `kubectl scale is not blocked (${scaled.stderr})`)
  // A patch of spec.replicas is an UPDATE of the Deployment itself: judged, and only warned about.
  const patched = await cluster.kubectl(['patch', 'deployment/legacy', '-n', legacyNs, '--type=merge', '-p', '{"spec":{"replicas":4}}'])
  t.equal(patched.code, 0, `an UPDATE of the replicas is not blocked (${patched.stderr})`)
  t.match(patched.stderr, /Warning: 1 problem was already there before this update; not denied, but fix it/)
  t.match(patched.stderr, /Warning: command-whitespace-in-executable: /)

  const relabel = await cluster.kubectl(['label', 'deployment/legacy', '-n', legacyNs, 'team=a'])
  t.equal(relabel.code, 0, `relabelling is not blocked (${relabel.stderr})`)

  const worse = await cluster.kubectl(['set', 'resources', 'deployment/legacy', '-n', legacyNs, '--requests=memory=128m', '--limits=memory=256m'])
  t.ok(deniedBy(worse), `a new problem is refused (${worse.stderr})`)
  t.match(worse.stderr, /\[memory-quantity-suspicious\]/)
  t.notMatch(worse.stderr.split('Also')[0] ?? '', /\[command-whitespace-in-executable\]/, 'the old problem is not among the denials')
})

t.test('the webhook logged one line per review and counted them', async (t) => {
  const lines = (await webhook.logs()).filter((l) => l['msg'] === 'review')
  t.ok(lines.length > 5, `${lines.length} review lines`)
  const denied = lines.find((l) => l['name'] === 'bad-real' && l['kind'] === 'Deployment')
  t.equal(denied?.['verdict'], 'denied')
  t.equal(denied?.['namespace'], NS)
  t.equal(denied?.['dryRun'], false)
  t.match(String(denied?.['uid']), /^[0-9a-f-]{36}$/)
  t.ok(lines.some((l) => l['dryRun'] === true && l['verdict'] === 'warned'), 'a dry run that warned')
  const m = await get(`${webhook.url}/metrics`, webhook.caPem)
  t.match(m.body, /^pod_preflight_admission_reviews_total\{kind="Deployment",operation="CREATE",verdict="denied"\} \d+$/m)
  t.match(m.body, /^pod_preflight_admission_reviews_total\{kind="Deployment",operation="UPDATE",verdict="warned"\} \d+$/m)
  t.match(m.body, /^pod_preflight_admission_findings_total\{rule="command-whitespace-in-executable",action="deny"\} \d+$/m)
})

t.test('serve --cluster --companion: the live view and the companion run against the real API server', async (t) => {
  const other = await mkdtemp(join(tmpdir(), 'pod-preflight-webhook-e2e-live-'))
  t.teardown(() => rm(other, { recursive: true, force: true }))
  const live = await startWebhook(other, ['--cluster', '--companion', `--kubeconfig=${cluster.kubeconfigPath}`], 120_000)
  t.teardown(() => live.stop())
  const ready = await get(`${live.url}/readyz`, live.caPem)
  t.equal(ready.status, 200, 'ready once the cluster view has synced')
  const lines = await live.logs()
  t.ok(lines.some((l) => l['msg'] === 'cluster view synced'), 'the live view synced')

  // A pod that keeps being OOM-killed; only the API server runs, so its status is written by hand.
  await cluster.applyYaml(`apiVersion: v1
kind: Pod
metadata:
  name: oom
  namespace: ${NS}
spec:
  nodeName: node-a
  containers:
${GOOD_CONTAINER.replace(/^ {6}/gm, '  ')}
`)
  const now = new Date().toISOString()
  const status = {
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: now }],
      containerStatuses: [
        {
          name: 'web',
          image: 'nginx:1.27.0',
          imageID: '',
          ready: false,
          restartCount: 4,
          started: false,
          state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 1m20s restarting failed container' } },
          lastState: { terminated: { exitCode: 137, reason: 'OOMKilled', startedAt: now, finishedAt: now } },
        },
      ],
    },
  }
  const patched = await cluster.kubectl(['patch', 'pod', 'oom', '-n', NS, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)])
  t.equal(patched.code, 0, patched.stderr)
  const deadline = Date.now() + 60_000
  let metrics = ''
  while (Date.now() < deadline) {
    metrics = (await get(`${live.url}/metrics`, live.caPem)).body
    if (/^pod_preflight_companion_diagnoses_total\{cause="oom-killed"\} [1-9]/m.test(metrics)) break
    await sleep(500)
  }
  t.match(metrics, /^pod_preflight_companion_diagnoses_total\{cause="oom-killed"\} [1-9]\d*$/m, 'the companion diagnosis is counted by cause')
  await live.stop()
})

t.test('failurePolicy Ignore: with the webhook down, objects go through unchecked', async (t) => {
  await webhook.stop()
  const r = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: BAD_POD })
  t.equal(r.code, 0, `accepted while the webhook is down (${r.stderr})`)
})
