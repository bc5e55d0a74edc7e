/**
 * The evaluation cache against a real kube-apiserver whose ServiceAccount admission plugin gives
 * every Pod its own token volume, as Kubernetes 1.21+ does by default (1.20 with the
 * BoundServiceAccountTokenVolume feature gate): two Pods a ReplicaSet would create, identical
 * but for their names, reach the webhook with different `kube-api-access-xxxxx` volumes, and the
 * second is answered from the cache with the same warnings.
 */
import t from 'tap'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startCluster } from './harness/cluster.js'
import { badPod, ensureBuilt, get, registerWebhook, startWebhook } from './harness/webhook.js'

t.setTimeout(600_000)
const cluster = await startCluster({
  // The ServiceAccount plugin on (the harness turns it off by default); AlwaysPullImages is off anyway.
  disableAdmissionPlugins: ['AlwaysPullImages'],
  extraApiServerFlags: ['--feature-gates=BoundServiceAccountTokenVolume=true'],
})
t.teardown(() => cluster.stop())
await ensureBuilt()
// No controller manager runs: the namespace's default ServiceAccount is made by hand.
const setup = await cluster.applyYaml('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n  namespace: shop\n')
if (setup.code !== 0) throw new Error(`namespace and service account: ${setup.stderr}`)
const dir = await mkdtemp(join(tmpdir(), 'pp-token-volume-e2e-'))
const webhook = await startWebhook(dir, [`--kubeconfig=${cluster.kubeconfigPath}`])
t.teardown(() => webhook.stop())
await registerWebhook(cluster, webhook, badPod('shop'), 90_000)

/** The Pod a ReplicaSet would create under this name (its owner need not exist: no controller runs). */
const owned = (name: string): string =>
  badPod('shop').replace(
    '  name: bad-pod\n',
    `  name: ${name}\n  ownerReferences:\n    - { apiVersion: apps/v1, kind: ReplicaSet, name: bad-pod-7d4b9, uid: 3f1c6c1e-0000-4000-8000-000000000001, controller: true }\n`,
  )

const lookups = async (): Promise<{ hit: number; miss: number }> => {
  const m = (await get(`${webhook.url}/metrics`, webhook.caPem)).body
  return { hit: Number(/^pod_preflight_admission_cache_lookups\{result="hit"\} (\d+)$/m.exec(m)?.[1] ?? 0), miss: Number(/^pod_preflight_admission_cache_lookups\{result="miss"\} (\d+)$/m.exec(m)?.[1] ?? 0) }
}

t.test("a ReplicaSet's Pods, each with its own token volume, share one evaluation", async (t) => {
  const create = (name: string) => cluster.kubectl(['create', '--dry-run=server', '-o', 'json', '-f', '-'], { input: owned(name) })
  const before = await lookups()
  const a = await create('bad-pod-7d4b9-aaaaa')
  const afterA = await lookups()
  const b = await create('bad-pod-7d4b9-bbbbb')
  const afterB = await lookups()
  t.equal(a.code, 0, `admitted (owned: never refused): ${a.stderr}`)
  t.equal(b.code, 0, b.stderr)
  const volumeOf = (out: string): string | undefined =>
    ((JSON.parse(out) as { spec: { volumes?: { name: string; projected?: unknown }[] } }).spec.volumes ?? []).find((v) => v.projected !== undefined)?.name
  const va = volumeOf(a.stdout)
  const vb = volumeOf(b.stdout)
  t.match(va, /^kube-api-access-[a-z0-9]{5}$/, 'the API server gave the first Pod a generated token volume')
  t.match(vb, /^kube-api-access-[a-z0-9]{5}$/)
  t.not(va, vb, 'and the second another')
  t.equal(afterA.miss - before.miss, 1, 'the first Pod is judged')
  t.equal(afterB.hit - afterA.hit, 1, 'the second is answered from the cache')
  t.equal(afterB.miss - afterA.miss, 0)
  const warnings = (stderr: string): string[] => stderr.split('\n').filter((l) => l.startsWith('Warning:'))
  t.ok(warnings(a.stderr).some((w) => /command-missing/.test(w)), `warned as an owned Pod is: ${a.stderr}`)
  t.same(warnings(b.stderr), warnings(a.stderr), 'with the same warnings')
})
