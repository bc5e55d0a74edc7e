import t from 'tap'
import { defineRule, NO_PARAMS, type PodRule } from '../../src/engine/rule.js'
import { MAX_WARNING_LENGTH } from '../../src/admission/warnings.js'
import { buildPolicy } from '../../src/policy/policy.js'
import { PolicyStore } from '../../src/admission/policy-store.js'
import { container, pod, post, review, testApp, testPolicy, workload, WORKLOAD_KINDS, TEST_RULES, clusterOnly } from './helpers.js'

t.test('a good Pod is allowed silently, with the request uid', async (t) => {
  const { app } = await testApp()
  const body = review(pod())
  const a = await post(app, body)
  t.equal(a.status, 200)
  t.equal(a.body['apiVersion'], 'admission.k8s.io/v1')
  t.equal(a.body['kind'], 'AdmissionReview')
  t.equal(a.uid, (body['request'] as { uid: string }).uid)
  t.equal(a.allowed, true)
  t.equal(a.warnings, undefined, 'no warnings')
  t.equal(a.message, undefined, 'no status')
})

t.test('a warn-only Pod is allowed with short warnings kubectl can print', async (t) => {
  const { app } = await testApp()
  const a = await post(app, review(pod([container({ pullPolicy: 'Never' })])))
  t.equal(a.allowed, true)
  t.equal(a.warnings?.length, 1)
  const w = a.warnings?.[0] ?? ''
  // The full message does not fit in a kubectl warning: its first clause, never cut, then the rule.
  t.equal(w, 'container "app" has imagePullPolicy: Never (image-pull-policy-never)')
  t.ok(w.length <= MAX_WARNING_LENGTH, `at most ${MAX_WARNING_LENGTH} characters (${w.length})`)
  t.notMatch(w, /^warning:/i, 'no Warning: prefix')
})

t.test('a bad Pod is denied with every denying finding and its fix', async (t) => {
  const { app } = await testApp()
  const a = await post(
    app,
    review(
      pod([
        container({ name: 'app', image: 'registry.example/app:broken', memory: '512m' }),
        container({ name: 'sidecar', image: 'registry.example/side:broken', pullPolicy: 'Never' }),
      ]),
    ),
  )
  t.equal(a.status, 200, 'a denial is still a 200 answer')
  t.equal(a.allowed, false)
  t.equal(a.code, 403)
  t.equal((a.body['response'] as { status: { reason: string } }).status.reason, 'Forbidden')
  const m = a.message ?? ''
  t.match(m, /^pod-preflight: Pod team-a\/web would fail at run time \(3 problems\):/)
  t.match(m, /\[test-broken-tag\] spec\.containers\[0\]\.image: container "app" uses the broken tag/)
  t.match(m, /\[test-broken-tag\] spec\.containers\[1\]\.image: container "sidecar"/)
  t.match(m, /\[test-milli-memory\] spec\.containers\[0\]\.resources\.limits\.memory/)
  t.equal(m.split('fix: use a released tag').length - 1, 2, 'each finding carries its fix')
  t.match(m, /fix: write Mi, e\.g\. 512Mi/)
  t.match(m, /Also 1 warning:\n- \[image-pull-policy-never\]/, 'the warnings are listed too')
  t.same(a.warnings?.length, 1, 'warn findings still come as warnings')
})

for (const kind of WORKLOAD_KINDS) {
  t.test(`a bad ${kind} is denied at the field of its template`, async (t) => {
    const { app } = await testApp()
    const a = await post(app, review(workload(kind, [container({ image: 'registry.example/app:broken' })])))
    t.equal(a.allowed, false)
    const prefix = kind === 'CronJob' ? 'spec.jobTemplate.spec.template.spec' : 'spec.template.spec'
    t.match(a.message ?? '', `[test-broken-tag] ${prefix}.containers[0].image`)
    t.match(a.message ?? '', `${kind} team-a/web`)
    const good = await post(app, review(workload(kind)))
    t.equal(good.allowed, true, `a good ${kind} is allowed`)
  })
}

t.test('older apiVersions of workloads are judged too', async (t) => {
  const { app } = await testApp()
  const d = { ...workload('Deployment', [container({ image: 'r.example/a:broken' })]), apiVersion: 'extensions/v1beta1' }
  t.equal((await post(app, review(d))).allowed, false)
})

t.test('a server-side dry run gets exactly the same answer', async (t) => {
  const { app } = await testApp()
  for (const object of [pod(), pod([container({ pullPolicy: 'Never' })]), workload('Deployment', [container({ image: 'x.example/a:broken' })])]) {
    const wet = await post(app, review(object, { uid: 'same' }))
    const dry = await post(app, review(object, { uid: 'same', dryRun: true }))
    t.same(dry.body, wet.body)
  }
})

t.test('UPDATE: problems the old object already had warn instead of denying', async (t) => {
  const { app } = await testApp()
  const legacy = workload('Deployment', [container({ image: 'r.example/a:broken' })])
  const scaled = structuredClone(legacy)
  ;(scaled['spec'] as Record<string, unknown>)['replicas'] = 5
  const a = await post(app, review(scaled, { operation: 'UPDATE', oldObject: legacy }))
  t.equal(a.allowed, true, 'scaling a legacy workload is not blocked')
  t.ok(a.warnings?.some((w) => /1 problem was already there before this update; not denied, but fix it/.test(w)))
  t.ok(a.warnings?.some((w) => w.startsWith('test-broken-tag: ')), 'the problem itself is a warning')

  const relabelled = structuredClone(legacy)
  ;(relabelled['metadata'] as Record<string, unknown>)['labels'] = { team: 'a' }
  t.equal((await post(app, review(relabelled, { operation: 'UPDATE', oldObject: legacy }))).allowed, true, 'relabelling neither')

  const worse = workload('Deployment', [container({ image: 'r.example/a:broken', memory: '256m' })])
  const b = await post(app, review(worse, { operation: 'UPDATE', oldObject: legacy }))
  t.equal(b.allowed, false, 'a new problem is denied')
  t.match(b.message ?? '', /\(1 problem\)/, 'only the new problem denies')
  t.match(b.message ?? '', /test-milli-memory/)
  t.notMatch(b.message?.split('Also')[0] ?? '', /test-broken-tag/, 'the old one is not among the denials')

  const good = workload('Deployment')
  const c = await post(app, review(legacy, { operation: 'UPDATE', oldObject: good }))
  t.equal(c.allowed, false, 'breaking a good workload on update is denied')
})

t.test('UPDATE: the same problem in a container that moved is still the old problem', async (t) => {
  const { app } = await testApp()
  const before = workload('Deployment', [container({ name: 'a', image: 'r.example/a:broken' }), container({ name: 'b' })])
  const after = workload('Deployment', [container({ name: 'b' }), container({ name: 'a', image: 'r.example/a:broken' })])
  t.equal((await post(app, review(after, { operation: 'UPDATE', oldObject: before }))).allowed, true)
})

t.test('objects created by a workload controller are not denied again', async (t) => {
  const { app, logs } = await testApp()
  const owned = pod([container({ image: 'r.example/a:broken' })], {
    name: 'web-7d4b9-x2x',
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d4b9', uid: 'u1', controller: true }],
  })
  const a = await post(app, review(owned))
  t.equal(a.allowed, true)
  t.ok(a.warnings?.some((w) => w === 'not denied: created by ReplicaSet/web-7d4b9, which is checked when it is applied'))
  t.ok(a.warnings?.some((w) => w.startsWith('test-broken-tag: ')))
  const line = logs().find((l) => l['uid'] === a.uid)
  t.equal(line?.['owner'], 'ReplicaSet/web-7d4b9', 'the log names the owner')

  const rs = workload('ReplicaSet', [container({ image: 'r.example/a:broken' })], {
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'u2', controller: true }],
  })
  t.equal((await post(app, review(rs))).allowed, true, 'a ReplicaSet of a Deployment')
  const job = workload('Job', [container({ image: 'r.example/a:broken' })], {
    ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'nightly', uid: 'u3', controller: true }],
  })
  t.equal((await post(app, review(job))).allowed, true, 'a Job of a CronJob')

  const foreign = pod([container({ image: 'r.example/a:broken' })], {
    ownerReferences: [{ apiVersion: 'example.com/v1', kind: 'Rollout', name: 'r', uid: 'u4', controller: true }],
  })
  t.equal((await post(app, review(foreign))).allowed, false, 'an owner whose template we never judged does not exempt')
  const notController = pod([container({ image: 'r.example/a:broken' })], {
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'x', uid: 'u5' }],
  })
  t.equal((await post(app, review(notController))).allowed, false, 'a reference that is not the controller does not exempt')
})

t.test('ownedObjects: skip answers what a workload controller made at once, without judging or logging it', async (t) => {
  const policy = buildPolicy({ apiVersion: 'pod-preflight/v1', kind: 'Policy', metadata: { name: 'test' }, ownedObjects: 'skip' }, 'test policy', TEST_RULES)
  const { app, logs, metrics } = await testApp({}, policy)
  const broken = (ownerReferences?: unknown[]): Record<string, unknown> =>
    pod([container({ image: 'r.example/a:broken', pullPolicy: 'Never' })], ownerReferences === undefined ? {} : { name: 'web-7d4b9-x2x', ownerReferences })
  const body = review(broken([{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d4b9', uid: 'u1', controller: true }]))
  const owned = await post(app, body)
  t.equal(owned.allowed, true)
  t.equal(owned.warnings, undefined, 'not judged: no findings, no note')
  t.equal(owned.uid, (body['request'] as { uid: string }).uid, 'the request uid is answered')
  t.same(logs().filter((l) => l['uid'] === owned.uid), [], 'no log line')
  const updated = await post(
    app,
    review(broken([{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d4b9', uid: 'u1', controller: true }]), { operation: 'UPDATE', oldObject: broken() }),
  )
  t.equal(updated.allowed, true)
  t.equal(updated.warnings, undefined, 'an UPDATE of an owned object too')
  const text = metrics.registry.render()
  t.match(text, /pod_preflight_admission_reviews_total\{kind="Pod",operation="CREATE",verdict="skipped_owned"\} 1\n/, 'counted')
  t.match(text, /pod_preflight_admission_reviews_total\{kind="Pod",operation="UPDATE",verdict="skipped_owned"\} 1\n/)
  t.notMatch(text, /pod_preflight_admission_findings_total\{/, 'no findings counted')

  // Near misses: judged and refused as ever.
  t.equal((await post(app, review(broken()))).allowed, false, 'no owner')
  t.equal((await post(app, review(broken([{ apiVersion: 'example.com/v1', kind: 'Rollout', name: 'r', uid: 'u4', controller: true }])))).allowed, false, 'an owner whose template we never judged')
  t.equal((await post(app, review(broken([{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'x', uid: 'u5' }])))).allowed, false, 'not the controller')
  t.equal((await post(app, review(broken([{ apiVersion: 'v1', kind: 'ReplicaSet', name: 'x', uid: 'u6', controller: true }])))).allowed, false, 'a ReplicaSet of the wrong group')
  const plain = await post(app, review(broken()))
  t.equal(logs().filter((l) => l['uid'] === plain.uid).length, 1, 'a judged review is still logged')

  const store = new PolicyStore()
  store.set(policy)
  t.match(store.detail(), /^policy: test \(enforce, controller-owned objects not judged\) from test policy, loaded /, '/readyz says so')
  store.set(testPolicy())
  t.match(store.detail(), /^policy: test \(enforce\) from /, 'and says nothing under judge')

  // The default, judge: the same owned Pod is judged, warned about and logged.
  const judged = await testApp()
  const a = await post(judged.app, review(broken([{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d4b9', uid: 'u1', controller: true }])))
  t.equal(a.allowed, true)
  t.ok(a.warnings?.some((w) => w.startsWith('test-broken-tag: ')), 'judged')
  t.equal(judged.logs().filter((l) => l['uid'] === a.uid).length, 1, 'logged')
})

t.test('what the webhook does not judge is allowed', async (t) => {
  const { app } = await testApp()
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'x' }, data: { a: 'b' } }
  const a = await post(app, review(cm))
  t.equal(a.allowed, true)
  t.same(a.warnings, ['pod-preflight does not check ConfigMap objects; allowed unchecked'])

  const del = await post(app, review(undefined, { operation: 'DELETE', oldObject: pod([container({ image: 'a.example/b:broken' })]) }))
  t.equal(del.allowed, true, 'DELETE')
  t.equal(del.warnings, undefined)

  const status = await post(app, review(pod([container({ image: 'a.example/b:broken' })]), { operation: 'UPDATE', subResource: 'status', oldObject: pod() }))
  t.equal(status.allowed, true, 'a subresource')

  const deleting = pod([container({ image: 'a.example/b:broken' })], { deletionTimestamp: '2024-01-01T00:00:00Z', finalizers: [] })
  t.equal((await post(app, review(deleting, { operation: 'UPDATE', oldObject: deleting }))).allowed, true, 'an object being deleted')
})

t.test('an object the engine cannot read is allowed with a warning, never a 500', async (t) => {
  const { app, metrics } = await testApp()
  const cases: [string, Record<string, unknown>][] = [
    ['spec is a string', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: 'nope' }],
    ['containers is a map', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: { a: 1 } } }],
    ['no template', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: {} }],
    ['metadata is a list', { apiVersion: 'v1', kind: 'Pod', metadata: [1, 2], spec: { containers: [] } }],
    ['weird container', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [null, 5, 'x', { name: 1, image: {} }] } }],
  ]
  for (const [name, object] of cases) {
    const a = await post(app, review(object))
    t.equal(a.status, 200, `${name}: 200`)
    t.equal(a.allowed, true, `${name}: allowed`)
    t.ok(a.warnings?.some((w) => w.startsWith('pod-preflight could not read all of this')), `${name}: says so (${a.warnings?.join(' | ')})`)
  }
  t.ok(metrics.reviews.value({ kind: 'Pod', operation: 'CREATE', verdict: 'unjudged' }) >= 3)

  const missingKind = pod([container({ image: 'a.example/b:broken' })])
  delete missingKind['apiVersion']
  delete missingKind['kind']
  t.equal((await post(app, review(missingKind))).allowed, false, 'apiVersion and kind come from request.kind when the object lacks them')
})

t.test('a rule that throws does not take the review down', async (t) => {
  const boom = defineRule({
    id: 'test-boom',
    title: 'throws',
    defaultAction: 'deny',
    scope: ['static'],
    params: NO_PARAMS,
    docs: { summary: 'x', description: 'x', failure: 'x', fix: 'x' },
    check() {
      throw new Error('kaboom')
    },
  })
  const rules = [...TEST_RULES, boom as PodRule<unknown>]
  const { app } = await testApp({ rules }, testPolicy(rules))
  const a = await post(app, review(pod([container({ image: 'a.example/b:broken' })])))
  t.equal(a.allowed, false, 'the other rules still deny')
  t.ok(a.warnings?.some((w) => /rule test-boom could not judge this object \(kaboom\)/.test(w)))
})

t.test('warnings are bounded; the deny message keeps the full list', async (t) => {
  const { app } = await testApp()
  const many = Array.from({ length: 30 }, (_, i) => container({ name: `c${i}`, pullPolicy: 'Never' }))
  const a = await post(app, review(pod(many)))
  t.equal(a.allowed, true)
  t.equal(a.warnings?.length, 10, 'at most 10 warnings')
  // 30 findings of one rule: 19 listed and one that counts the other 11; 9 warnings and the count of the rest.
  t.equal(a.warnings?.[9], "...and 11 more; run 'pod-preflight check' on the manifest to see them all")
  for (const w of a.warnings ?? []) t.ok(w.length <= MAX_WARNING_LENGTH, `≤ ${MAX_WARNING_LENGTH}: ${w}`)

  const denied = await post(app, review(pod([container({ name: 'x', image: 'a.example/b:broken' }), ...many])))
  t.equal(denied.allowed, false)
  t.equal((denied.message ?? '').split('[image-pull-policy-never]').length - 1, 20, 'the warnings of one rule in the deny message: 19 and a summary')
  t.match(denied.message ?? '', /…and 11 more image-pull-policy-never findings, not listed \(at most 20 per rule\)/)

  const few = await testApp({ maxWarnings: 3 })
  t.equal((await post(few.app, review(pod(many)))).warnings?.length, 3, '--max-warnings is honoured')
})

t.test('the time budget: over it, the review is allowed with a warning and counted', async (t) => {
  let clock = 0
  const slow = defineRule({
    id: 'test-slow',
    title: 'slow',
    defaultAction: 'warn',
    scope: ['static'],
    params: NO_PARAMS,
    docs: { summary: 'x', description: 'x', failure: 'x', fix: 'x' },
    check() {
      clock += 1_000 // this rule "takes" a second of the fake clock
      return []
    },
  })
  const rules = [slow as PodRule<unknown>, ...TEST_RULES]
  const { app, metrics, logs } = await testApp({ rules, budgetMs: 500, now: () => clock }, testPolicy(rules))
  const a = await post(app, review(pod([container({ image: 'a.example/b:broken' })])))
  t.equal(a.allowed, true, 'allowed although a later rule would deny')
  t.equal(a.warnings?.[0], 'pod-preflight ran out of its 500 ms time budget; this Pod was not fully checked and is allowed')
  t.notOk(a.warnings?.some((w) => w.includes('time budget exceeded')), 'the per-rule notes are folded into one')
  t.equal(metrics.budgetExceeded.value({}), 1)
  t.equal(logs().find((l) => l['uid'] === a.uid)?.['verdict'], 'over_budget')

  clock = 0
  const again = await post(app, review(pod([container({ image: 'a.example/b:broken' })])))
  t.equal(again.allowed, true, 'over budget again: the cut-short evaluation was not cached as the verdict')
  t.equal(metrics.budgetExceeded.value({}), 2)

  const fast = await testApp({ rules: TEST_RULES, budgetMs: 500 })
  t.equal((await post(fast.app, review(pod([container({ image: 'a.example/b:broken' })])))).allowed, false, 'within budget the verdict stands')
})

t.test('cluster rules: skipped with a warning until the view has synced', async (t) => {
  const rules = [...TEST_RULES, clusterOnly as PodRule<unknown>]
  const view = { synced: false, revision: 0, source: 'live cluster' }
  const { app } = await testApp({ rules, cluster: { view: view as never } }, testPolicy(rules))
  const a = await post(app, review(pod()))
  t.equal(a.allowed, true)
  t.same(a.warnings, ['pod-preflight has not synced the cluster state yet; rules that need it were skipped'])
  view.synced = true
  const b = await post(app, review(pod()))
  t.same(b.warnings, ['test-cluster-only: cluster rule ran'])
})

t.test('one log line per review, with no object content', async (t) => {
  const { app, logs, logText } = await testApp()
  const secretish = pod([container({ image: 'a.example/b:broken', env: [{ name: 'DB_PASSWORD', value: 'hunter2-SECRET-VALUE' }] })])
  const a = await post(app, review(secretish, { dryRun: true }))
  const lines = logs().filter((l) => l['msg'] === 'review')
  t.equal(lines.length, 1)
  const l = lines[0] ?? {}
  t.equal(l['uid'], a.uid)
  t.equal(l['kind'], 'Pod')
  t.equal(l['namespace'], 'team-a')
  t.equal(l['name'], 'web')
  t.equal(l['operation'], 'CREATE')
  t.equal(l['dryRun'], true)
  t.equal(l['verdict'], 'denied')
  t.same(l['rules'], ['test-broken-tag'])
  t.same(l['denied'], ['test-broken-tag'])
  t.equal(typeof l['durationMs'], 'number')
  t.equal(l['level'], 'info')
  t.notMatch(logText(), /hunter2|DB_PASSWORD/, 'no env names or values')
})

t.test('--review-log warned: a line for every review answered with more than a yes, none for the rest, all counted', async (t) => {
  const { app, logs } = await testApp({ reviewLog: 'warned' })
  const scrape = async (): Promise<string> => (await app.inject({ method: 'GET', url: '/metrics' })).body
  const good = await post(app, review(pod()))
  const warned = await post(app, review(pod([container({ pullPolicy: 'Never' })])))
  const denied = await post(app, review(pod([container({ image: 'a.example/b:broken' })])))
  const skipped = await post(app, review(pod([container({ pullPolicy: 'Never' })], { annotations: { 'pod-preflight/skip': 'image-pull-policy-never' } })))
  const deleted = await post(app, review(pod(), { operation: 'DELETE' }))
  t.equal(good.allowed, true)
  const lines = logs().filter((l) => l['msg'] === 'review')
  t.same(
    lines.map((l) => [l['uid'], l['verdict']]),
    [
      [warned.uid, 'warned'],
      [denied.uid, 'denied'],
      [skipped.uid, 'allowed'],
    ],
    'the warned, the denied and the one that skipped a rule; not the good Pod nor the DELETE',
  )
  t.same(lines[2]?.['skipped'], ['image-pull-policy-never'])
  t.ok(deleted.allowed)
  t.match(await scrape(), /^pod_preflight_admission_reviews_total\{kind="Pod",operation="CREATE",verdict="allowed"\} 2$/m, 'the quiet reviews are still counted')
})

t.test('--review-log warned: a review with info notes only is quiet (the webhook does not report notes), and counted', async (t) => {
  const { app, logs } = await testApp({ reviewLog: 'warned' }, testPolicy(TEST_RULES, { 'image-pull-policy-never': { action: 'info' } }))
  const a = await post(app, review(pod([container({ pullPolicy: 'Never' })])))
  t.equal(a.allowed, true)
  t.equal(a.warnings, undefined, 'an info note is no warning')
  t.same(logs().filter((l) => l['msg'] === 'review'), [], 'no review line')
  t.match((await app.inject({ method: 'GET', url: '/metrics' })).body, /^pod_preflight_admission_reviews_total\{kind="Pod",operation="CREATE",verdict="allowed"\} 1$/m)
})

t.test('--review-log all (the default): a line for every review, the good ones too', async (t) => {
  for (const reviewLog of ['all', undefined] as const) {
    const { app, logs } = await testApp(reviewLog === undefined ? {} : { reviewLog })
    const good = await post(app, review(pod()))
    const lines = logs().filter((l) => l['msg'] === 'review')
    t.same(lines.map((l) => [l['uid'], l['verdict']]), [[good.uid, 'allowed']], `reviewLog ${String(reviewLog)}`)
  }
})

t.test('identical objects are judged once; the answer still names each object', async (t) => {
  const { app, metrics } = await testApp()
  const scrape = async (): Promise<string> => (await app.inject({ method: 'GET', url: '/metrics' })).body
  const owned = (name: string, uid: string): Record<string, unknown> =>
    pod([container({ image: 'r.example/a:broken' })], {
      name,
      uid,
      resourceVersion: uid,
      managedFields: [{ manager: 'kube-controller-manager', time: new Date().toISOString() }],
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', uid: 'rs', controller: true }],
    })
  const a = await post(app, review(owned('web-1-aaaaa', 'u1')))
  const b = await post(app, review(owned('web-1-bbbbb', 'u2')))
  t.same(a.warnings, b.warnings)
  t.match(await scrape(), /^pod_preflight_admission_cache_lookups\{result="hit"\} 1$/m)
  t.match(await scrape(), /^pod_preflight_admission_cache_lookups\{result="miss"\} 1$/m)

  const first = await post(app, review(pod([container({ image: 'r.example/a:broken' })], { name: 'one' })))
  const second = await post(app, review(pod([container({ image: 'r.example/a:broken' })], { name: 'two' })))
  t.match(first.message ?? '', /^pod-preflight: Pod team-a\/one /)
  t.match(second.message ?? '', /^pod-preflight: Pod team-a\/two /, 'a cached verdict names the object asked about')
  const other = await post(app, review(pod([container({ image: 'r.example/a:broken' })], { name: 'two', namespace: 'team-b' })))
  t.match(other.message ?? '', /team-b\/two/, 'another namespace is another key')
  t.equal(metrics.reviews.value({ kind: 'Pod', operation: 'CREATE', verdict: 'denied' }), 3)
  const labelled = await post(app, review(pod([container({ image: 'r.example/a:broken', pullPolicy: 'Never' })], { name: 'three' })))
  t.equal(labelled.warnings?.length, 1, 'a changed spec is judged again')
})

t.test('the cache follows the cluster view and is off at size 0', async (t) => {
  const rules = [...TEST_RULES, clusterOnly as PodRule<unknown>]
  const view = { synced: true, revision: 1, source: 'live cluster' }
  const { app } = await testApp({ rules, cluster: { view: view as never } }, testPolicy(rules, { 'test-cluster-only': { action: 'warn' } }))
  t.same((await post(app, review(pod()))).warnings, ['test-cluster-only: cluster rule ran'])
  view.synced = false
  view.revision = 2
  t.same((await post(app, review(pod()))).warnings, ['pod-preflight has not synced the cluster state yet; rules that need it were skipped'], 'a new revision is a new key')

  const off = await testApp({ cacheEntries: 0 })
  await post(off.app, review(pod()))
  await post(off.app, review(pod()))
  t.notMatch((await off.app.inject({ method: 'GET', url: '/metrics' })).body, /cache_lookups\{result="hit"\}/)
})

/** A ReplicaSet's Pod as a Kubernetes 1.21+ API server sends it: its own generated token volume, mounted into each container. */
function podWithTokenVolume(name: string, volume: string, o: { pullPolicy?: string; projected?: boolean } = {}): Record<string, unknown> {
  const mount = { name: volume, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }
  const p = pod([{ ...container({ image: 'r.example/a:broken', ...(o.pullPolicy !== undefined ? { pullPolicy: o.pullPolicy } : {}) }), volumeMounts: [mount] }], {
    name,
    uid: name,
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', uid: 'rs', controller: true }],
  })
  const source =
    o.projected === false
      ? { emptyDir: {} }
      : { projected: { defaultMode: 420, sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }, { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } }] } }
  ;(p['spec'] as Record<string, unknown>)['volumes'] = [{ name: volume, ...source }]
  return p
}

t.test("a ReplicaSet's Pods share a verdict although each has its own token volume (Kubernetes 1.21+)", async (t) => {
  const { app } = await testApp()
  const lookups = async (): Promise<string> => {
    const m = (await app.inject({ method: 'GET', url: '/metrics' })).body
    return `${/cache_lookups\{result="hit"\} (\d+)/.exec(m)?.[1] ?? '0'} hit, ${/cache_lookups\{result="miss"\} (\d+)/.exec(m)?.[1] ?? '0'} miss`
  }
  const a = await post(app, review(podWithTokenVolume('web-1-aaaaa', 'kube-api-access-x7k2q')))
  const b = await post(app, review(podWithTokenVolume('web-1-bbbbb', 'kube-api-access-9mzbd')))
  t.equal(a.allowed, true, 'owned: never refused')
  t.same(b.warnings, a.warnings)
  t.equal(await lookups(), '1 hit, 1 miss', 'the second Pod is a hit')
  const c = await post(app, review(podWithTokenVolume('web-1-ccccc', 'kube-api-access-4rwl8', { pullPolicy: 'Never' })))
  t.equal(await lookups(), '1 hit, 2 miss', 'another spec is another key')
  t.not(c.warnings?.length, a.warnings?.length, 'and is judged again')
  await post(app, review(podWithTokenVolume('web-1-ddddd', 'kube-api-access-abcde', { projected: false })))
  await post(app, review(podWithTokenVolume('web-1-eeeee', 'kube-api-access-fghjk', { projected: false })))
  t.equal(await lookups(), '1 hit, 4 miss', 'a volume of that name that is not projected keeps its name in the key')
})

t.test('an evaluation that names the Pod\'s token volume is not kept for another Pod', async (t) => {
  const namesVolumes = defineRule({
    id: 'test-names-volumes',
    title: 'test rule: names the volumes',
    defaultAction: 'warn',
    scope: ['static'],
    params: NO_PARAMS,
    docs: { summary: 'test', description: 'test rule', failure: 'test failure', fix: 'test fix' },
    check(p) {
      return (p.spec.volumes ?? []).map((v, i) => ({ path: `${p.specPath}.volumes[${i}]`, message: `volume ${v.name}`, fix: 'none' }))
    },
  })
  const rules = [...TEST_RULES, namesVolumes as PodRule<unknown>]
  const { app } = await testApp({ rules }, testPolicy(rules))
  const a = await post(app, review(podWithTokenVolume('web-1-aaaaa', 'kube-api-access-x7k2q')))
  const b = await post(app, review(podWithTokenVolume('web-1-bbbbb', 'kube-api-access-9mzbd')))
  t.ok(a.warnings?.some((w) => w.includes('kube-api-access-x7k2q')), 'the first Pod is told of its own volume')
  t.ok(b.warnings?.some((w) => w.includes('kube-api-access-9mzbd')), 'the second of its own, not of the first')
  t.notOk(b.warnings?.some((w) => w.includes('kube-api-access-x7k2q')))
  t.notMatch((await app.inject({ method: 'GET', url: '/metrics' })).body, /cache_lookups\{result="hit"\} [1-9]/)
})
