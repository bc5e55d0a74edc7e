/**
 * `pod-preflight install` against the real kube-apiserver (1.20) and kubectl: the version is
 * read from the server, what it renders is accepted by `kubectl apply --dry-run=server`, so is
 * the kustomize overlay for 1.20, and with the webhook running the shipped policy and
 * registered as rendered, a bad Pod is refused in an ordinary namespace but not in kube-system
 * nor in the webhook's own namespace (1.20 has no kubernetes.io/metadata.name label); a CronJob in
 * batch/v1beta1, the version 1.20 serves, is judged without being told that version is gone;
 * `snapshot` as the installed ServiceAccount with the shipped view role lists Namespaces.
 */
import t from 'tap'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { run, startCluster } from './harness/cluster.js'
import { BIN, ROOT, badPod, deniedBy, ensureBuilt, get, sleep, startWebhook } from './harness/webhook.js'

type Obj = Record<string, any>

const cluster = await startCluster()
t.teardown(() => cluster.stop())
await ensureBuilt()

const installCli = (args: string[]) =>
  run(process.execPath, [BIN, 'install', `--kubeconfig=${cluster.kubeconfigPath}`, ...args], { cwd: ROOT, timeoutMs: 120_000 })

t.test('install renders for the server it asks, and the server accepts every object', async (t) => {
  // A server-side dry run of namespaced objects needs their namespace to exist (a real apply
  // creates it first, from the same stream): create the rendered Namespace for real.
  const first = await installCli([])
  await cluster.applyYaml(JSON.stringify(parseAllDocuments(first.stdout).map((d) => d.toJS() as Obj).find((o) => o['kind'] === 'Namespace')))
  for (const flags of [[], ['--cluster-view', '--companion', '--companion-logs', '--mode=audit'], ['--certificates=provided', '--tls-secret-name=corp-tls', '--replicas=1']]) {
    const r = await installCli(flags)
    t.equal(r.code, 0, r.stderr)
    const objects = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj)
    const pdb = objects.find((o) => o['kind'] === 'PodDisruptionBudget')
    if (!flags.includes('--replicas=1')) t.equal(pdb?.['apiVersion'], 'policy/v1beta1', 'rendered for 1.20, read from /version')
    const dry = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: r.stdout })
    t.equal(dry.code, 0, `kubectl apply --dry-run=server ${flags.join(' ')}: ${dry.stderr}`)
    t.match(dry.stdout, /validatingwebhookconfiguration\.admissionregistration\.k8s\.io\/pod-preflight created \(server dry run\)/)
  }
})

t.test('install --workers --hpa on 1.20: the autoscaler as autoscaling/v2beta2, and the server accepts it', async (t) => {
  const r = await installCli(['--workers=2', '--hpa=6'])
  t.equal(r.code, 0, r.stderr)
  const objects = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj)
  const hpa = objects.find((o) => o['kind'] === 'HorizontalPodAutoscaler')
  t.equal(hpa?.['apiVersion'], 'autoscaling/v2beta2', '1.20 serves no autoscaling/v2 (1.23+)')
  const dry = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: r.stdout })
  t.equal(dry.code, 0, `kubectl apply --dry-run=server: ${dry.stderr}`)
  t.match(dry.stdout, /horizontalpodautoscaler\.autoscaling\/pod-preflight created \(server dry run\)/)
  t.match(dry.stdout, /deployment\.apps\/pod-preflight created \(server dry run\)/)
  const v2 = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: JSON.stringify({ ...hpa, apiVersion: 'autoscaling/v2' }) })
  t.not(v2.code, 0, 'and autoscaling/v2 would have been refused by this server')
})

t.test('kubectl apply -k of the 1.20 overlay is accepted', async (t) => {
  const r = await cluster.kubectl(['apply', '--dry-run=server', '-k', join(ROOT, 'manifests/overlays/kubernetes-1.20')])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /deployment\.apps\/pod-preflight created \(server dry run\)/)
})

t.test('kube-system and the own namespace are not judged on 1.20; other namespaces are', async (t) => {
  const r = await installCli([])
  t.equal(r.code, 0, r.stderr)
  const objects = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj)
  const namespace = objects.find((o) => o['kind'] === 'Namespace') as Obj
  await cluster.applyYaml(JSON.stringify(namespace))
  const policy = (objects.find((o) => o['kind'] === 'ConfigMap') as Obj)['data']['policy.yaml'] as string
  const dir = await mkdtemp(join(tmpdir(), 'pp-install-e2e-'))
  const policyFile = join(dir, 'policy.yaml')
  await writeFile(policyFile, policy)
  const webhook = await startWebhook(dir, [`--policy=${policyFile}`])
  t.teardown(() => webhook.stop())

  const config = objects.find((o) => o['kind'] === 'ValidatingWebhookConfiguration') as Obj
  for (const w of config['webhooks'] as Obj[]) w['clientConfig'] = { url: `${webhook.url}/validate`, caBundle: Buffer.from(webhook.caPem).toString('base64') }
  await cluster.applyYaml(JSON.stringify(config))
  const deadline = Date.now() + 90_000
  for (;;) {
    const d = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: badPod('default') })
    if (deniedBy(d)) break
    if (Date.now() > deadline) throw new Error(`the API server never called the webhook: ${d.stderr}`)
    await sleep(500)
  }
  t.pass('a bad Pod in default is refused')
  for (const ns of ['kube-system', 'pod-preflight']) {
    const d = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: badPod(ns) })
    t.equal(d.code, 0, `a bad Pod in ${ns} is not refused: ${d.stderr}`)
    t.notOk(deniedBy(d))
    t.notMatch(d.stderr, /command-missing|memory-quantity-suspicious/, `nor warned about in ${ns}`)
  }
  // kube-system is called (1.20 cannot exclude it by name) and let through by the shipped
  // policy's exemption: the webhook's log shows the review, allowed with the rules exempted.
  const reviews = (await webhook.logs()).filter((l) => l['namespace'] === 'kube-system')
  t.ok(reviews.length > 0, 'the API server did call the webhook for kube-system')
  t.ok(reviews.every((l) => l['verdict'] === 'allowed'), `and it allowed every one: ${JSON.stringify(reviews.map((l) => l['verdict']))}`)
  t.ok(reviews.some((l) => Array.isArray(l['exempted']) && l['exempted'].includes('command-missing')), 'by the exemption install added to the policy')

  // batch/v1beta1 is how 1.20 serves CronJobs: judged in that version without being told it is gone.
  const cron = (name: string, memory: string) => `apiVersion: batch/v1beta1
kind: CronJob
metadata:
  name: ${name}
  namespace: default
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
            - name: job
              image: busybox:1.36.1
              command: [sh, -c, "date"]
              resources:
                limits: { memory: ${memory} }
`
  const good = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: cron('nightly', '64Mi') })
  t.equal(good.code, 0, `a good batch/v1beta1 CronJob is admitted: ${good.stderr}`)
  t.match(good.stdout, /cronjob\.batch\/nightly created \(server dry run\)/)
  t.notMatch(good.stderr, /no longer served|batch\/v1beta1/, 'and not told its apiVersion is gone')
  // 512m of memory is half a byte.
  const bad = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: cron('broken', '512m') })
  t.ok(deniedBy(bad), `a batch/v1beta1 CronJob with a memory limit of half a byte is refused: ${bad.stderr}`)
  t.match(bad.stderr, /memory-quantity-suspicious/, 'for its memory limit')
  t.notMatch(bad.stderr, /no longer served/, 'not for its apiVersion')
})

t.test('snapshot as the installed ServiceAccount with the shipped cluster view role lists Namespaces without a 403', async (t) => {
  const r = await installCli(['--cluster-view'])
  t.equal(r.code, 0, r.stderr)
  const objects = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj)
  const items = objects.filter((o) => ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding'].includes(o['kind']))
  t.ok(items.some((o) => o['metadata']['name'] === 'pod-preflight:cluster-view'), 'the view\'s role is rendered')
  await cluster.applyYaml(JSON.stringify({ apiVersion: 'v1', kind: 'List', items }))
  const sa = await cluster.serviceAccountKubeconfig('pod-preflight', 'pod-preflight')
  const dir = await mkdtemp(join(tmpdir(), 'pp-snapshot-e2e-'))
  const out = join(dir, 'snapshot.yaml')
  const s = await run(process.execPath, [BIN, 'snapshot', `--kubeconfig=${sa.kubeconfigPath}`, '-o', out], { cwd: ROOT, timeoutMs: 120_000 })
  t.equal(s.code, 0, s.stderr)
  t.notMatch(s.stderr, /cannot list Namespaces/, `no refusal of Namespaces: ${s.stderr}`)
  // Secrets are left out of the shipped role on purpose (RBAC cannot grant metadata only).
  t.same(s.stderr.split('\n').filter((l) => /warning/.test(l)).map((l) => l.replace(/^.*cannot list (\w+).*$/, '$1')), ['Secrets'], 'the only refusal is the Secrets the role leaves out')
  t.match(s.stderr, /\d+ Namespaces/, 'Namespaces are counted')
  t.match(await readFile(out, 'utf8'), /kind: Namespace\b[\s\S]*name: kube-system|name: kube-system[\s\S]*kind: Namespace\b/, 'and captured')
})

t.test('every certificate mode, with and without policy bindings, renders only what it needs and passes apply --dry-run=server', async (t) => {
  // cert-manager is not installed here: its two kinds are declared so that the API server can
  // dry-run the Certificates and Issuers install renders (their schema is cert-manager's to check).
  const crd = (kind: string) => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: ${kind.toLowerCase()}s.cert-manager.io }
spec:
  group: cert-manager.io
  scope: Namespaced
  names: { kind: ${kind}, plural: ${kind.toLowerCase()}s, singular: ${kind.toLowerCase()} }
  versions:
    - name: v1
      served: true
      storage: true
      schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } }
`
  await cluster.applyYaml(`${crd('Certificate')}---\n${crd('Issuer')}`)
  const est = await cluster.kubectl(['wait', '--for=condition=established', '--timeout=60s', 'crd/certificates.cert-manager.io', 'crd/issuers.cert-manager.io'])
  t.equal(est.code, 0, est.stderr)
  const dir = await mkdtemp(join(tmpdir(), 'pp-install-modes-'))
  const bindings = join(dir, 'bindings.yaml')
  await writeFile(bindings, 'apiVersion: pod-preflight/v1\nkind: Policy\nmode: audit\nbindings:\n  - name: prod-enforces\n    namespaceSelector: { matchLabels: { env: prod } }\n    mode: enforce\n')
  for (const certificates of ['self-managed', 'cert-manager', 'provided']) {
    for (const policy of [[], [`--policy=${bindings}`]]) {
      const flags = [`--certificates=${certificates}`, ...(certificates === 'provided' ? ['--tls-secret-name=corp-tls'] : []), ...policy]
      const r = await installCli(flags)
      t.equal(r.code, 0, r.stderr)
      const objects = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj)
      const names = (kind: string) => objects.filter((o) => o['kind'] === kind).map((o) => o['metadata']['name'] as string)
      t.same(names('ClusterRole').sort(), names('ClusterRoleBinding').sort(), `${flags.join(' ')}: every ClusterRole bound, every binding's role rendered`)
      t.same(names('Role').sort(), names('RoleBinding').sort(), `${flags.join(' ')}: the same for Roles`)
      t.equal(names('ClusterRole').includes('pod-preflight:namespaces'), policy.length > 0, `${flags.join(' ')}: Namespace reads only for bindings`)
      t.equal(names('Role').includes('pod-preflight:tls-secret'), certificates === 'self-managed', `${flags.join(' ')}: Secret access only when self-managed`)
      const dry = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: r.stdout })
      t.equal(dry.code, 0, `kubectl apply --dry-run=server ${flags.join(' ')}: ${dry.stderr}`)
      t.match(dry.stdout, /validatingwebhookconfiguration\.admissionregistration\.k8s\.io\/pod-preflight (created|configured) \(server dry run\)/)
    }
  }

  // Applied for real (provided mode, bindings): the service account may watch Namespaces and no more.
  // The view's role (bound by the snapshot test) also lists Namespaces: without it first.
  await cluster.kubectl(['delete', 'clusterrolebinding', 'pod-preflight:cluster-view', '--ignore-not-found'])
  const before = await cluster.serviceAccountKubeconfig('pod-preflight', 'pod-preflight')
  t.equal((await before.kubectl(['auth', 'can-i', 'list', 'namespaces'])).stdout.trim(), 'no', 'no Namespace reads before')
  const r = await installCli(['--certificates=provided', '--tls-secret-name=corp-tls', `--policy=${bindings}`])
  const rbac = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj).filter((o) => ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding'].includes(o['kind']))
  await cluster.applyYaml(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rbac }))
  const sa = await cluster.serviceAccountKubeconfig('pod-preflight', 'pod-preflight')
  for (const [verb, want] of [['list', 'yes'], ['watch', 'yes'], ['get', 'no'], ['update', 'no']] as const) {
    t.equal((await sa.kubectl(['auth', 'can-i', verb, 'namespaces'])).stdout.trim(), want, `can-i ${verb} namespaces: ${want}`)
  }
  t.equal((await sa.kubectl(['auth', 'can-i', 'get', 'secret/corp-tls', '-n', 'pod-preflight'])).stdout.trim(), 'no', 'the provided Secret is only mounted, never read through the API')
})

t.test('a broken edit of the policy file keeps the policy in force, and says so in logs, metrics and /readyz', async (t) => {
  // What the kubelet does to a ConfigMap volume: the new version appears whole, by rename.
  const dir = await mkdtemp(join(tmpdir(), 'pp-policy-edit-e2e-'))
  const policyFile = join(dir, 'policy.yaml')
  const r = await installCli(['--mode=enforce'])
  const shipped = (parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj).find((o) => o['kind'] === 'ConfigMap') as Obj)['data']['policy.yaml'] as string
  const write = async (text: string) => {
    await writeFile(`${policyFile}.tmp`, text)
    await (await import('node:fs/promises')).rename(`${policyFile}.tmp`, policyFile)
  }
  await write(shipped)
  const webhook = await startWebhook(dir, [`--policy=${policyFile}`, '--reload-interval=200ms'])
  t.teardown(() => webhook.stop())
  const config = JSON.parse(await (await import('./harness/webhook.js')).webhookConfiguration(webhook)) as Obj
  config['metadata']['name'] = 'pod-preflight-policy-edit'
  for (const w of config['webhooks'] as Obj[]) w['failurePolicy'] = 'Fail'
  await cluster.applyYaml(JSON.stringify(config))
  t.teardown(() => cluster.kubectl(['delete', 'validatingwebhookconfiguration', 'pod-preflight-policy-edit', '--ignore-not-found']))
  const apply = () => cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: badPod('default') })
  let d = await apply()
  for (let i = 0; i < 60 && !deniedBy(d); i++) {
    await sleep(500)
    d = await apply()
  }
  t.ok(deniedBy(d), `enforcing before the edit: ${d.stderr}`)

  // The broken edit: an unknown rule id, and mode: audit that would let the Pod through if loaded.
  await write(shipped.replace(/^mode: enforce$/m, 'mode: audit').replace(/^rules:$/m, 'rules:\n  command-mising: { action: off }'))
  let ready = await get(`${webhook.url}/readyz`, webhook.caPem)
  for (let i = 0; i < 50 && !/refused/.test(ready.body); i++) {
    await sleep(200)
    ready = await get(`${webhook.url}/readyz`, webhook.caPem)
  }
  t.equal(ready.status, 200, 'still ready: it serves the last good policy')
  t.match(ready.body, /the edit read at .* was refused and this policy stays in force: .*rules\.command-mising: unknown rule id; did you mean command-missing\?/)
  const metrics = await get(`${webhook.url}/metrics`, webhook.caPem)
  t.match(metrics.body, /pod_preflight_policy_reloads_total\{result="error"\} 1/)
  t.match(metrics.body, /pod_preflight_policy_last_reload_successful 0/)
  t.ok((await webhook.logs()).some((l) => l['msg'] === 'policy edit refused; the policy in force stays'), 'logged')
  const after = await apply()
  t.ok(deniedBy(after), `still enforcing through the API server: ${after.stderr}`)
  t.notMatch(after.stderr, /would deny \(audit\)/)

  // The next good edit is loaded and clears the refusal.
  await write(shipped.replace(/^mode: enforce$/m, 'mode: audit'))
  let back = await apply()
  for (let i = 0; i < 40 && deniedBy(back); i++) {
    await sleep(250)
    back = await apply()
  }
  t.equal(back.code, 0, `the good edit (audit) is in force: ${back.stderr}`)
  t.match(back.stderr, /would deny \(audit\)/)
  t.notMatch((await get(`${webhook.url}/readyz`, webhook.caPem)).body, /refused/)
})
