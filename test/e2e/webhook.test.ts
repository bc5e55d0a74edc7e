/**
 * The admission webhook end to end: a real etcd + kube-apiserver, `pod-preflight serve` started
 * the way the image starts it (node dist/cli/bin.js serve ...), registered with the
 * ValidatingWebhookConfiguration from manifests/ (clientConfig pointed at loopback), and the
 * real kubectl applying manifests to it.
 */
import t from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as http2connect } from 'node:http2'
import { startCluster, type TestCluster } from './harness/cluster.js'
import { WEBHOOK, deniedBy, ensureBuilt, get, badPod, registerWebhook, sleep, startWebhook, type Webhook } from './harness/webhook.js'

t.setTimeout(600_000)

const NS = 'e2e-webhook'

// ---------------------------------------------------------------------------
// Manifests
// ---------------------------------------------------------------------------

const resources = `
          resources:
            requests: { cpu: 50m, memory: 64Mi, ephemeral-storage: 64Mi }
            limits: { memory: 64Mi, ephemeral-storage: 64Mi }`

const BAD_POD = badPod(NS)

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
  await registerWebhook(cluster, webhook, BAD_POD)
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
  t.ok(warnings.some((w) => w.startsWith('Warning: container "web" has imagePullPolicy: Never') && w.endsWith('(image-pull-policy-never)')), r.stderr)
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
  t.match(patched.stderr, /^Warning: container "api": command\[0\] .*\(command-whitespace-in-executable\)$/m)

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
  const live = await startWebhook(other, ['--cluster', '--companion', `--lease-namespace=${NS}`, `--kubeconfig=${cluster.kubeconfigPath}`], 120_000)
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

t.test('the API server calls the webhook over HTTP/1.1, also when serve --http2 offers h2', async (t) => {
  const protocols = (metrics: string): Record<string, number> =>
    Object.fromEntries([...metrics.matchAll(/^pod_preflight_tls_connections_total\{protocol="([^"]+)"\} (\d+)$/gm)].map((m) => [m[1] ?? '', Number(m[2])]))
  const seen = protocols((await get(`${webhook.url}/metrics`, webhook.caPem)).body)
  t.ok((seen['http/1.1'] ?? 0) >= 1, `the API server chose http/1.1 in ALPN (${JSON.stringify(seen)})`)
  t.equal(seen['h2'], undefined, 'and never h2')

  const other = await mkdtemp(join(tmpdir(), 'pod-preflight-webhook-e2e-h2-'))
  t.teardown(() => rm(other, { recursive: true, force: true }))
  const h2 = await startWebhook(other, ['--http2'])
  t.teardown(() => h2.stop())
  // The same configuration, now pointing at the server that offers h2.
  await registerWebhook(cluster, h2, BAD_POD)
  const denied = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: deployment('bad-h2', BAD_CONTAINER) })
  t.ok(deniedBy(denied), `a bad Deployment is refused through the server that offers h2 (${denied.stderr})`)
  const good = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: deployment('good-h2', GOOD_CONTAINER) })
  t.equal(good.code, 0, good.stderr)
  // A client that offers h2 gets it from this server, so what the API server got was its own choice.
  const session = http2connect(h2.url, { ca: h2.caPem, servername: 'localhost' })
  session.on('error', () => undefined)
  const status = await new Promise<number>((resolve) => {
    const req = session.request({ ':path': '/healthz' })
    req.on('response', (h) => resolve(Number(h[':status'])))
    req.on('error', () => resolve(0))
    req.end()
  })
  t.equal(status, 200, 'an h2 client is served over h2')
  session.close()
  const after = protocols((await get(`${h2.url}/metrics`, h2.caPem)).body)
  t.ok((after['http/1.1'] ?? 0) >= 1, `the API server still chose http/1.1 (${JSON.stringify(after)})`)
  t.equal(after['h2'], 1, 'the one h2 connection is the test client\'s')
  const reviews = (await h2.logs()).filter((l) => l['msg'] === 'review')
  t.ok(reviews.length >= 2, `${reviews.length} reviews answered by the server that offers h2`)
  await registerWebhook(cluster, webhook, BAD_POD)
})

t.test('failurePolicy Ignore: with the webhook down, objects go through unchecked', async (t) => {
  await webhook.stop()
  const r = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: BAD_POD })
  t.equal(r.code, 0, `accepted while the webhook is down (${r.stderr})`)
})
