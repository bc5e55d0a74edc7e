/**
 * `pod-preflight install` against the real kube-apiserver (1.20) and kubectl: the version is
 * read from the server, what it renders is accepted by `kubectl apply --dry-run=server`, so is
 * the kustomize overlay for 1.20, and with the webhook running the shipped policy and
 * registered as rendered, a bad Pod is refused in an ordinary namespace but not in kube-system
 * nor in the webhook's own namespace (1.20 has no kubernetes.io/metadata.name label).
 */
import t from 'tap'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { run, startCluster } from './harness/cluster.js'
import { BIN, ROOT, badPod, deniedBy, ensureBuilt, sleep, startWebhook } from './harness/webhook.js'

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
  }
})
