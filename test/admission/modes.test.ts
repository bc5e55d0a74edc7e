/**
 * Audit mode, bindings by namespace labels and skip controls at admission (app.inject()), and
 * the policy reloaded from a ConfigMap volume laid out exactly as the kubelet writes it.
 */
import t from 'tap'
import { mkdtemp, mkdir, rm, symlink, rename, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parsePolicy, type Policy } from '../../src/policy/policy.js'
import { buildApp, type NamespaceLabelSource } from '../../src/admission/app.js'
import { createLogger } from '../../src/admission/logger.js'
import { createMetrics, type WebhookMetrics } from '../../src/admission/metrics.js'
import { PolicyStore, startPolicyReloader } from '../../src/admission/policy-store.js'
import { TEST_RULES, container, pod, review } from './helpers.js'

const HEAD = 'apiVersion: pod-preflight/v1\nkind: Policy\nmetadata: { name: rollout }\n'
const logger = createLogger('silent')
const badPod = (ns: string, annotations: Record<string, string> = {}): Record<string, unknown> =>
  pod([container({ image: 'a.example/b:broken' })], { name: 'bad', namespace: ns, annotations })

interface Answer {
  allowed: boolean
  warnings: string[]
  message: string
}

async function setup(policy: Policy, namespaces?: NamespaceLabelSource): Promise<{ ask: (obj: Record<string, unknown>) => Promise<Answer>; metrics: WebhookMetrics }> {
  const metrics = createMetrics()
  const deps: Parameters<typeof buildApp>[0] = { rules: TEST_RULES, policy: { current: () => policy }, logger, metrics }
  if (namespaces !== undefined) deps.namespaces = { current: () => namespaces }
  const app = await buildApp(deps)
  t.teardown(() => app.close())
  return {
    metrics,
    ask: async (obj) => {
      const r = await app.inject({ method: 'POST', url: '/validate', payload: review(obj) })
      const body = r.json() as { response: { allowed: boolean; warnings?: string[]; status?: { message: string } } }
      return { allowed: body.response.allowed, warnings: body.response.warnings ?? [], message: body.response.status?.message ?? '' }
    },
  }
}

function labelSource(known: Record<string, Record<string, string>>, fetchable: Record<string, Record<string, string>> = {}): NamespaceLabelSource & { fetched: string[] } {
  const fetched: string[] = []
  return {
    fetched,
    labels: (ns) => known[ns],
    fetch: async (ns) => {
      fetched.push(ns)
      return fetchable[ns]
    },
  }
}

t.test('audit mode: the bad Pod is allowed with a warning naming the rule, counted as would-deny', async (t) => {
  const { ask, metrics } = await setup(parsePolicy(`${HEAD}mode: audit\n`, 'p.yaml', TEST_RULES))
  const a = await ask(badPod('apps'))
  t.equal(a.allowed, true)
  t.ok(a.warnings.some((w) => w.startsWith('would deny (audit): test-broken-tag: container "app" uses the broken tag')), a.warnings.join('\n'))
  const text = metrics.registry.render()
  t.match(text, 'pod_preflight_admission_would_deny_total{rule="test-broken-tag"} 1')
  t.match(text, /pod_preflight_admission_reviews_total\{kind="Pod",operation="CREATE",verdict="would_deny"\} 1/)
})

t.test('enforce mode (the default) still denies the same Pod', async (t) => {
  const { ask, metrics } = await setup(parsePolicy(HEAD, 'p.yaml', TEST_RULES))
  const a = await ask(badPod('apps'))
  t.equal(a.allowed, false)
  t.match(a.message, /\[test-broken-tag\]/)
  t.notMatch(metrics.registry.render(), /pod_preflight_admission_would_deny_total\{/)
})

const BOUND = `${HEAD}mode: audit
bindings:
  - name: prod-enforces
    namespaceSelector: { matchLabels: { env: prod } }
    mode: enforce
`

t.test('a binding enforces in the namespaces its selector matches, and only there', async (t) => {
  const source = labelSource({ shop: { env: 'prod' }, dev: { env: 'dev' } })
  const { ask } = await setup(parsePolicy(BOUND, 'p.yaml', TEST_RULES), source)
  const prod = await ask(badPod('shop'))
  t.equal(prod.allowed, false, 'denied in the prod-labelled namespace')
  t.match(prod.message, '(policy binding prod-enforces applies in this namespace)')
  const dev = await ask(badPod('dev'))
  t.equal(dev.allowed, true, 'allowed with a warning elsewhere')
  t.ok(dev.warnings.some((w) => w.startsWith('would deny (audit): test-broken-tag')))
  t.same(source.fetched, [], 'watched labels need no request')
})

t.test('a namespace the watch has not seen is fetched once; unknown labels fall back to the policy mode, and say so', async (t) => {
  const source = labelSource({}, { fresh: { env: 'prod' } })
  const { ask, metrics } = await setup(parsePolicy(BOUND, 'p.yaml', TEST_RULES), source)
  t.equal((await ask(badPod('fresh'))).allowed, false, 'fetched labels bind')
  t.same(source.fetched, ['fresh'])
  const lost = await ask(badPod('nowhere'))
  t.equal(lost.allowed, true)
  t.ok(lost.warnings.includes("pod-preflight could not learn the labels of namespace nowhere; the policy's audit mode applied, not its bindings"), lost.warnings.join('\n'))
  t.match(metrics.registry.render(), 'pod_preflight_admission_namespace_labels_unknown_total 1')

  const none = await setup(parsePolicy(BOUND, 'p.yaml', TEST_RULES))
  const w = await none.ask(badPod('shop'))
  t.equal(w.allowed, true, 'no label source at all: the policy mode')
  t.ok(w.warnings.some((x) => x.includes('could not learn the labels of namespace shop')))
})

t.test('skips are counted, and a refused skip says so and is counted', async (t) => {
  const allow = await setup(parsePolicy(HEAD, 'p.yaml', TEST_RULES))
  t.equal((await allow.ask(badPod('apps', { 'pod-preflight/skip': 'test-broken-tag' }))).allowed, true)
  t.match(allow.metrics.registry.render(), 'pod_preflight_admission_skips_total{rule="test-broken-tag",by="annotation"} 1')

  const off = await setup(parsePolicy(`${HEAD}skipAnnotation: { namespaces: [sandbox] }\n`, 'p.yaml', TEST_RULES))
  const a = await off.ask(badPod('apps', { 'pod-preflight/skip': 'test-broken-tag' }))
  t.equal(a.allowed, false, 'not honoured outside the listed namespaces')
  t.ok(a.warnings.some((w) => w.includes('is honoured only in namespaces sandbox by policy rollout; every rule ran')), a.warnings.join('\n'))
  t.match(off.metrics.registry.render(), 'pod_preflight_admission_skip_refused_total 1')
  t.equal((await off.ask(badPod('sandbox', { 'pod-preflight/skip': 'test-broken-tag' }))).allowed, true, 'honoured where listed')
})

t.test('a CronJob in batch/v1beta1 sent by the API server is not told its version is no longer served', async (t) => {
  const { ask } = await setup(parsePolicy(HEAD, 'p.yaml', TEST_RULES))
  const cron = {
    apiVersion: 'batch/v1beta1',
    kind: 'CronJob',
    metadata: { name: 'c', namespace: 'apps' },
    spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [container()] } } } } },
  }
  const a = await ask(cron)
  t.equal(a.allowed, true)
  t.notOk(a.warnings.some((w) => w.includes('no longer served')), a.warnings.join('\n'))
})

// ---------------------------------------------------------------------------
// A ConfigMap volume as the kubelet writes it
// ---------------------------------------------------------------------------

/** Writes a new version the way the kubelet's AtomicWriter does: new timestamped dir, ..data_tmp, rename over ..data, remove the old dir. */
async function kubeletWrite(dir: string, version: number, text: string, first: boolean): Promise<void> {
  const ts = `..2026_12_05_09_${String(10 + version).padStart(2, '0')}_00.${String(100000000 + version)}`
  await mkdir(join(dir, ts))
  await writeFile(join(dir, ts, 'policy.yaml'), text)
  await symlink(ts, join(dir, '..data_tmp'))
  const { readlink } = await import('node:fs/promises')
  const old = first ? undefined : await readlink(join(dir, '..data'))
  await rename(join(dir, '..data_tmp'), join(dir, '..data'))
  if (first) await symlink('..data/policy.yaml', join(dir, 'policy.yaml'))
  if (old !== undefined) await rm(join(dir, old), { recursive: true })
}

t.test('ConfigMap volume: a good edit is loaded; a broken edit keeps the policy in force and says so in logs, metrics and /readyz', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'pp-configmap-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await kubeletWrite(dir, 1, `${HEAD}mode: audit\n`, true)
  const file = join(dir, 'policy.yaml')
  const store = new PolicyStore()
  store.set(parsePolicy(`${HEAD}mode: audit\n`, file, TEST_RULES))
  const metrics = createMetrics()
  const lines: Record<string, unknown>[] = []
  const log = createLogger('info', { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) })
  const watch = await startPolicyReloader({ file, rules: TEST_RULES, store, intervalMs: 0, logger: log, metrics })
  t.teardown(() => watch.stop())
  const app = await buildApp({ rules: TEST_RULES, policy: store, logger, metrics })
  t.teardown(() => app.close())

  await kubeletWrite(dir, 2, `${HEAD}mode: enforce\n`, false)
  await watch.check()
  t.equal(store.current()?.mode, 'enforce', 'the swapped version is read')
  t.match(metrics.registry.render(), 'pod_preflight_policy_reloads_total{result="ok"} 1')

  await kubeletWrite(dir, 3, `${HEAD}mode: enforce\nrules:\n  test-broken-tagg: warn\n`, false)
  await watch.check()
  t.equal(store.current()?.mode, 'enforce', 'the policy in force stays')
  t.equal(store.current()?.rules.get('test-broken-tag')?.action, 'deny')
  const text = metrics.registry.render()
  t.match(text, 'pod_preflight_policy_reloads_total{result="error"} 1')
  t.match(text, 'pod_preflight_policy_last_reload_successful 0')
  const refused = lines.find((l) => l['msg'] === 'policy edit refused; the policy in force stays')
  t.ok(refused, 'logged')
  t.match(String((refused?.['problems'] as string[])[0]), /policy\.yaml:6: rules\.test-broken-tagg: unknown rule id; did you mean test-broken-tag\?/)
  const ready = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 200, 'still ready: it serves the last good policy')
  t.match(ready.body, /^ok\npolicy: rollout \(enforce\) from .*; the edit read at .* was refused and this policy stays in force: .*rules\.test-broken-tagg: unknown rule id/)

  await watch.check()
  t.match(metrics.registry.render(), 'pod_preflight_policy_reloads_total{result="error"} 1', 'the same broken version is refused once, not at every poll')

  await kubeletWrite(dir, 4, `${HEAD}mode: audit\n`, false)
  await watch.check()
  t.equal(store.current()?.mode, 'audit', 'the fixed edit is loaded')
  t.match(metrics.registry.render(), 'pod_preflight_policy_last_reload_successful 1')
  t.notMatch((await app.inject({ method: 'GET', url: '/readyz' })).body, /refused/, 'and /readyz forgets the refused edit')
})
