import t from 'tap'
import { relatedFromObjects, podTemplatesIn, runHasNamespace } from '../../src/engine/related.js'
import { evaluateObject } from '../../src/engine/evaluate.js'
import { defineObjectRule, defineRule, isObjectRule, NO_PARAMS, type PodRule } from '../../src/engine/rule.js'
import { buildPolicy } from '../../src/policy/policy.js'
import { parseDocuments } from '../../src/input/documents.js'
import { ClusterStore } from '../../src/cluster/store.js'
import { RULES } from '../../src/rules/index.js'

t.test('relatedFromObjects indexes by kind, namespace and name', async (t) => {
  const { documents } = parseDocuments(
    `apiVersion: v1
kind: ConfigMap
metadata: { name: a }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: a, namespace: other }
---
apiVersion: v1
kind: Node
metadata: { name: n1, namespace: ignored }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: web }] }
---
kind: NoName
apiVersion: v1
`,
    'run.yaml',
  )
  // InputDocuments and raw values are both accepted.
  for (const input of [documents, documents.map((d) => d.value)]) {
    const r = relatedFromObjects(input, { complete: true, namespace: 'dev' })
    t.equal(r.complete, true)
    t.ok(r.get('ConfigMap', 'dev', 'a'), 'no namespace: the default namespace of the run')
    t.ok(r.get('ConfigMap', undefined, 'a'), 'namespace undefined means the default namespace')
    t.ok(r.get('ConfigMap', 'other', 'a'))
    t.equal(r.get('ConfigMap', 'shop', 'a'), undefined)
    t.ok(r.get('Node', undefined, 'n1'), 'cluster-scoped kinds have no namespace')
    t.ok(r.get('Node', 'whatever', 'n1'))
    t.equal(r.list('NoName', 'dev').length, 1, 'nameless objects are listed')
    t.same(podTemplatesIn(r, 'shop').map((p) => p.object.name), ['web'])
    t.equal(runHasNamespace(r, 'shop'), true)
    t.equal(runHasNamespace(r, 'nowhere'), false)
  }
  // The fallback for another RelatedObjects implementation.
  const bareImpl = { complete: false, list: (kind: string) => (kind === 'Deployment' ? [documents[3]?.value as Record<string, unknown>] : []), get: () => undefined }
  t.same(podTemplatesIn(bareImpl, 'shop').map((p) => p.object.name), ['web'])
})

const svcRule = defineObjectRule({
  id: 'test-service-rule',
  title: 'test service rule',
  defaultAction: 'warn',
  scope: ['batch'],
  kinds: ['Service'],
  params: NO_PARAMS,
  docs: { summary: 'summary text', description: 'description text', failure: 'failure text', fix: 'fix text here' },
  checkObject: (o, ctx) => [{ path: 'spec.selector', message: `judged ${o.object.name} in ${o.object.namespace ?? '?'} complete=${String(ctx.related?.complete)}`, fix: 'nothing to fix' }],
})
const podRule = defineRule({
  id: 'test-pod-rule',
  title: 'test pod rule',
  defaultAction: 'warn',
  scope: ['static'],
  params: NO_PARAMS,
  docs: { summary: 'summary text', description: 'description text', failure: 'failure text', fix: 'fix text here' },
  check: (p, ctx) => [{ path: `${p.specPath}.containers`, message: `pod rule cluster=${ctx.cluster === undefined ? 'none' : 'given'}`, fix: 'nothing to fix' }],
})
const clusterRule = defineRule({
  id: 'test-cluster-rule',
  title: 'test cluster rule',
  defaultAction: 'warn',
  scope: ['cluster'],
  params: NO_PARAMS,
  docs: { summary: 'summary text', description: 'description text', failure: 'failure text', fix: 'fix text here' },
  check: (p) => [{ path: `${p.specPath}.containers`, message: 'cluster rule ran', fix: 'nothing to fix' }],
})
const rules = [svcRule, podRule, clusterRule] as PodRule<unknown>[]
const policy = buildPolicy({ apiVersion: 'pod-preflight/v1', kind: 'Policy' }, 'test', rules)
const related = relatedFromObjects([], { complete: false })
const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' } } }
const podObj = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'a' }] } }

t.test('object rules judge their kinds only; pod rules never see a Service', async (t) => {
  t.equal(isObjectRule(svcRule), true)
  t.equal(isObjectRule(podRule), false)
  const e = evaluateObject(service, { policy, rules, namespace: 'shop', related })
  t.equal(e.recognised, true)
  t.same(e.findings.map((f) => [f.rule, f.message, f.object.namespace]), [['test-service-rule', 'judged web in shop complete=false', 'shop']])
  const knative = evaluateObject({ ...service, apiVersion: 'serving.knative.dev/v1' }, { policy, rules, related })
  t.equal(knative.recognised, false, 'a Service of another API group is another kind')
  const cm = evaluateObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }, { policy, rules, related })
  t.equal(cm.recognised, false)
  const p = evaluateObject(podObj, { policy, rules, related })
  t.same(p.findings.map((f) => f.rule), ['test-pod-rule'], 'the object rule is not run on pods')
  const noRelated = evaluateObject(service, { policy, rules })
  t.same(noRelated.findings, [], 'a batch object rule needs the run')
})

t.test('object rules honour the skip annotation and exemptions', async (t) => {
  const skipped = evaluateObject({ ...service, metadata: { name: 'web', annotations: { 'pod-preflight/skip': 'test-service-rule' } } }, { policy, rules, related })
  t.same(skipped.findings, [])
  t.same(skipped.skipped.map((s) => s.rule), ['test-service-rule'])
  const exempt = buildPolicy(
    { apiVersion: 'pod-preflight/v1', kind: 'Policy', exemptions: [{ reason: 'legacy', namespaces: ['legacy-*'], rules: ['test-service-rule'] }] },
    'test',
    rules,
  )
  const e = evaluateObject({ ...service, metadata: { name: 'web', namespace: 'legacy-1' } }, { policy: exempt, rules, related })
  t.same(e.skipped, [{ rule: 'test-service-rule', reason: 'policy exemption: legacy', by: 'exemption' }])
})

t.test('a view that is not synced is never handed to a rule, and its rules say they were skipped', async (t) => {
  let synced = false
  const cluster = new ClusterStore({ source: 'live cluster', synced: () => synced })
  const stale = evaluateObject(podObj, { policy, rules, cluster })
  t.same(stale.findings.map((f) => f.message), ['pod rule cluster=none'])
  t.same(stale.skipped.map((s) => s.rule), ['test-cluster-rule'])
  t.match(stale.skipped[0]?.reason ?? '', /live cluster.*not synced/)
  synced = true
  const fresh = evaluateObject(podObj, { policy, rules, cluster })
  t.same(fresh.findings.map((f) => f.message).sort(), ['cluster rule ran', 'pod rule cluster=given'])
  t.same(fresh.skipped, [])
  // The same policy, rules and view once more, stale again (a watch that broke): not read.
  synced = false
  const again = evaluateObject(podObj, { policy, rules, cluster })
  t.same(again.findings.map((f) => f.message), ['pod rule cluster=none'])
  t.same(again.skipped.map((s) => s.rule), ['test-cluster-rule'])
})

t.test('the registry lists the cluster rules with their catalogue actions and scopes', async (t) => {
  const want: Record<string, [string, string[]]> = {
    'image-pull-secret-missing': ['warn', ['batch', 'cluster']],
    'node-selector-unsatisfiable': ['warn', ['cluster']],
    'node-affinity-unsatisfiable': ['warn', ['cluster']],
    'taints-not-tolerated': ['warn', ['cluster']],
    'no-node-fits-requests': ['warn', ['cluster']],
    'no-node-has-free-capacity': ['info', ['cluster']],
    'no-ready-node': ['warn', ['cluster']],
    'anti-affinity-exceeds-nodes': ['warn', ['cluster']],
    'quota-exceeded': ['warn', ['cluster']],
    'quota-requires-limits': ['deny', ['cluster']],
    'limitrange-violation': ['warn', ['cluster']],
    'configmap-missing': ['warn', ['batch', 'cluster']],
    'secret-missing': ['warn', ['batch', 'cluster']],
    'pvc-missing': ['warn', ['batch', 'cluster']],
    'service-account-missing': ['warn', ['batch', 'cluster']],
    'service-selector-matches-nothing': ['warn', ['batch', 'cluster']],
    'service-target-port-missing': ['warn', ['batch', 'cluster']],
    'ingress-backend-missing': ['warn', ['batch', 'cluster']],
  }
  for (const [id, [action, scope]] of Object.entries(want)) {
    const r = RULES.find((x) => x.id === id)
    t.ok(r, `${id} is registered`)
    t.equal(r?.defaultAction, action, `${id} action`)
    t.same(r?.scope, scope, `${id} scope`)
  }
  t.same(RULES.filter(isObjectRule).map((r) => r.id), ['service-selector-matches-nothing', 'service-target-port-missing', 'ingress-backend-missing'])
})

t.test('ruleTimes: each rule that ran is timed and counted, a skipped one is not; without it the findings are the same', async (t) => {
  const ruleTimes = new Map<string, { ms: number; runs: number }>()
  const timed = evaluateObject(podObj, { policy, rules, ruleTimes })
  evaluateObject(podObj, { policy, rules, ruleTimes })
  t.same([...ruleTimes.keys()], ['test-pod-rule'], 'the cluster rule did not run (no cluster), the object rule does not judge pods')
  const pod = ruleTimes.get('test-pod-rule')
  t.equal(pod?.runs, 2)
  t.ok(pod !== undefined && pod.ms >= 0 && Number.isFinite(pod.ms))
  t.same(evaluateObject(podObj, { policy, rules }).findings, timed.findings)
  const skipped = new Map<string, { ms: number; runs: number }>()
  evaluateObject({ ...podObj, metadata: { name: 'p', annotations: { 'pod-preflight/skip': 'test-pod-rule' } } }, { policy, rules, ruleTimes: skipped })
  t.equal(skipped.size, 0, 'a rule the annotation skipped is not timed')
})

t.test('what a rule does is worked out per policy and per rule list, and follows a list changed in place', async (t) => {
  const list = [podRule] as PodRule<unknown>[]
  const own = buildPolicy({ apiVersion: 'pod-preflight/v1', kind: 'Policy' }, 'test', [podRule, clusterRule] as PodRule<unknown>[])
  const cluster = new ClusterStore({ source: 'live cluster', synced: () => true })
  t.same(evaluateObject(podObj, { policy: own, rules: list, cluster }).findings.map((f) => f.message), ['pod rule cluster=given'])
  // The caller adds a rule to the same list: it runs from the next object on.
  list.push(clusterRule)
  t.same(evaluateObject(podObj, { policy: own, rules: list, cluster }).findings.map((f) => f.message).sort(), ['cluster rule ran', 'pod rule cluster=given'])
  // Another policy over the same list, with the pod rule off and the cluster rule denying.
  const strict = buildPolicy(
    { apiVersion: 'pod-preflight/v1', kind: 'Policy', rules: { 'test-pod-rule': { action: 'off' }, 'test-cluster-rule': { action: 'deny' } } },
    'strict',
    [podRule, clusterRule] as PodRule<unknown>[],
  )
  t.same(evaluateObject(podObj, { policy: strict, rules: list, cluster }).findings.map((f) => [f.rule, f.action]), [['test-cluster-rule', 'deny']])
  // And the first policy again, unchanged by the second.
  t.same(evaluateObject(podObj, { policy: own, rules: list, cluster }).findings.map((f) => f.action), ['warn', 'warn'])
  // Without the cluster view, the cluster rule does not run and is not said to be skipped.
  const none = evaluateObject(podObj, { policy: own, rules: list })
  t.same(none.findings.map((f) => f.message), ['pod rule cluster=none'])
  t.same(none.skipped, [])
})
