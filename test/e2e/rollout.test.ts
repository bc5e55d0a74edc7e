/**
 * Audit-first rollout on the real kube-apiserver (1.20) through kubectl: the default policy in
 * `mode: audit` with one binding that enforces in namespaces labelled env=prod, and
 * `ownedObjects: skip`. A bad Pod is
 * admitted with kubectl's "Warning: would deny (audit): ..." lines in an ordinary namespace and
 * in a near miss (env=staging), refused in env=prod naming the binding, and refused in the
 * ordinary namespace once it is labelled env=prod (the webhook watches namespace labels).
 */
import t from 'tap'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startCluster } from './harness/cluster.js'
import { ROOT, badPod, deniedBy, ensureBuilt, get, registerWebhook, sleep, startWebhook } from './harness/webhook.js'

t.setTimeout(600_000)
const cluster = await startCluster()
t.teardown(() => cluster.stop())
await ensureBuilt()

const defaults = await readFile(join(ROOT, 'policies/default.yaml'), 'utf8')
// No assertion before the subtests: tap would end the root test (and stop the cluster) at once.
if (!/^mode: enforce$/m.test(defaults)) throw new Error('policies/default.yaml no longer states `mode: enforce`')
if (!/^ownedObjects: judge$/m.test(defaults)) throw new Error('policies/default.yaml no longer states `ownedObjects: judge`')
const policy = defaults
  .replace(/^mode: enforce$/m, 'mode: audit\nbindings:\n  - name: prod-enforces\n    namespaceSelector: { matchLabels: { env: prod } }\n    mode: enforce\n')
  .replace(/^ownedObjects: judge$/m, 'ownedObjects: skip')
const dir = await mkdtemp(join(tmpdir(), 'pp-rollout-e2e-'))
await writeFile(join(dir, 'policy.yaml'), policy)
await cluster.applyYaml(
  ['dev', 'staging', 'prod']
    .map((ns) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n${ns === 'dev' ? '' : `  labels: { env: ${ns} }\n`}`)
    .join('---\n'),
)
const webhook = await startWebhook(dir, [`--policy=${join(dir, 'policy.yaml')}`, `--kubeconfig=${cluster.kubeconfigPath}`])
t.teardown(() => webhook.stop())
await registerWebhook(cluster, webhook, badPod('prod'), 90_000)

const apply = (ns: string) => cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: badPod(ns) })

t.test('audit: the bad Pod is admitted with warnings naming the rules', async (t) => {
  for (const ns of ['dev', 'staging']) {
    const r = await apply(ns)
    t.equal(r.code, 0, `admitted in ${ns}: ${r.stderr}`)
    t.match(r.stdout, /pod\/bad-pod created \(server dry run\)/)
    // A warning is `rule: message` when it fits in a line, else a short form ending with `(rule)`.
    for (const rule of ['command-missing', 'memory-quantity-suspicious']) {
      const line = new RegExp(`^Warning: would deny \\(audit\\): (${rule}: .+|.+ \\(${rule}\\))$`, 'm')
      t.match(r.stderr, line, `${ns}: kubectl prints a warning naming ${rule}`)
    }
    t.notOk(deniedBy(r))
  }
})

t.test('the binding enforces in env=prod only', async (t) => {
  const r = await apply('prod')
  t.ok(deniedBy(r), `refused in prod: ${r.stderr}`)
  t.match(r.stderr, /command-missing/)
  t.match(r.stderr, /prod-enforces/, 'the denial names the binding')
  t.notMatch(r.stderr, /would deny \(audit\)/)
})

t.test('labelling a namespace env=prod makes the binding apply there', async (t) => {
  const l = await cluster.kubectl(['label', 'namespace', 'dev', 'env=prod'])
  t.equal(l.code, 0, l.stderr)
  let r = await apply('dev')
  for (let i = 0; i < 40 && !deniedBy(r); i++) {
    await sleep(500)
    r = await apply('dev')
  }
  t.ok(deniedBy(r), `refused in dev once labelled: ${r.stderr}`)
  const s = await apply('staging')
  t.equal(s.code, 0, 'staging is still only warned')
})

t.test('ownedObjects: skip: what a workload controller made is admitted without a word, and counted', async (t) => {
  // No controller manager runs here: the test creates the Pod a ReplicaSet would (its owner need not exist).
  const owned = badPod('prod').replace(
    '  name: bad-pod\n',
    '  name: bad-pod-7d4b9-x2x\n  ownerReferences:\n    - { apiVersion: apps/v1, kind: ReplicaSet, name: bad-pod-7d4b9, uid: 3f1c6c1e-0000-4000-8000-000000000001, controller: true }\n',
  )
  t.not(owned, badPod('prod'), 'the owner was written in')
  const r = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: owned })
  t.equal(r.code, 0, `admitted in prod, where the same Pod without an owner is refused: ${r.stderr}`)
  t.match(r.stdout, /pod\/bad-pod-7d4b9-x2x created \(server dry run\)/)
  t.notMatch(r.stderr, /Warning:/, 'not judged: no warning')
  const foreign = owned.replace('kind: ReplicaSet', 'kind: Rollout').replace('apiVersion: apps/v1', 'apiVersion: argoproj.io/v1alpha1')
  t.ok(deniedBy(await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: foreign })), 'an owner whose template the webhook never judged: refused')
  const metrics = await get(`${webhook.url}/metrics`, webhook.caPem)
  t.match(metrics.body, /^pod_preflight_admission_reviews_total\{kind="Pod",operation="CREATE",verdict="skipped_owned"\} [1-9]/m, 'counted as skipped_owned')
  const ready = await get(`${webhook.url}/readyz`, webhook.caPem)
  t.match(ready.body, /^policy: default \(audit, 1 binding, controller-owned objects not judged\) from /m, '/readyz names the setting')
})
