/**
 * Policy modes, bindings by namespace and the controls on the skip annotation: how they are
 * read (and refused, naming file, line and path) and what they change in an evaluation.
 */
import t from 'tap'
import { parsePolicy, PolicyError, policyForNamespace, skipHonoured, type Policy } from '../../src/policy/policy.js'
import { evaluateObject } from '../../src/engine/evaluate.js'
import { RULES } from '../../src/rules/index.js'

const HEAD = 'apiVersion: pod-preflight/v1\nkind: Policy\n'

function problems(text: string): string[] {
  try {
    parsePolicy(text, 'p.yaml', RULES)
  } catch (err) {
    if (err instanceof PolicyError) return err.problems
    throw err
  }
  return []
}

const BINDINGS = `${HEAD}mode: audit
bindings:
  - name: prod
    namespaceSelector:
      matchLabels: { env: prod }
    mode: enforce
    rules:
      image-tag-latest: deny
  - name: everything-else-in-team-a
    namespaceSelector:
      matchExpressions:
        - { key: team, operator: In, values: [a] }
    rules:
      image-pull-policy-never: off
`

t.test('mode defaults to enforce; audit is read', async (t) => {
  t.equal(parsePolicy(HEAD, 'p.yaml', RULES).mode, 'enforce')
  t.equal(parsePolicy(`${HEAD}mode: audit\n`, 'p.yaml', RULES).mode, 'audit')
  t.same(problems(`${HEAD}mode: warn\n`), ['p.yaml:3: mode: must be one of "enforce", "audit"'])
})

t.test('ownedObjects defaults to judge; skip is read; anything else is refused where it stands', async (t) => {
  t.equal(parsePolicy(HEAD, 'p.yaml', RULES).ownedObjects, 'judge')
  t.equal(parsePolicy(`${HEAD}ownedObjects: skip\n`, 'p.yaml', RULES).ownedObjects, 'skip')
  t.same(problems(`${HEAD}ownedObjects: ignore\n`), ['p.yaml:3: ownedObjects: must be one of "judge", "skip"'])
  t.same(problems(`${HEAD}ownedObjects: true\n`), ['p.yaml:3: ownedObjects: must be one of "judge", "skip"'], 'YAML 1.1 true is not a string')
  const bound = parsePolicy(`${BINDINGS}ownedObjects: skip\n`, 'p.yaml', RULES)
  t.equal(policyForNamespace(bound, 'shop', { env: 'prod' }).ownedObjects, 'skip', 'a binding keeps the policy\'s')
  t.match(problems(`${HEAD}bindings:\n  - name: b\n    namespaceSelector: {}\n    ownedObjects: skip\n`).join('\n'), /bindings\[0\]/, 'a binding cannot set it')
})

t.test('bindings: the first whose selector matches the namespace labels applies; else the policy', async (t) => {
  const p = parsePolicy(BINDINGS, 'p.yaml', RULES)
  t.equal(p.bindings.length, 2)
  const prod = policyForNamespace(p, 'shop', { env: 'prod', team: 'a' })
  t.equal(prod.binding, 'prod', 'first match in list order wins, even when a later one matches too')
  t.equal(prod.mode, 'enforce')
  t.equal(prod.rules.get('image-tag-latest')?.action, 'deny', 'action override')
  t.equal(prod.rules.get('image-pull-policy-never')?.action, 'warn', 'the other binding does not leak in')
  t.same(prod.rules.get('probe-liveness-aggressive'), p.rules.get('probe-liveness-aggressive'), 'rules it does not name keep the policy setting')

  const teamA = policyForNamespace(p, 'a-dev', { team: 'a' })
  t.equal(teamA.binding, 'everything-else-in-team-a')
  t.equal(teamA.mode, 'audit', 'a binding without mode inherits the policy mode')
  t.equal(teamA.rules.get('image-pull-policy-never')?.action, 'off')

  t.equal(policyForNamespace(p, 'dev', { env: 'dev' }), p, 'no binding matches: the policy itself')
  t.equal(policyForNamespace(p, 'dev', { env: 'production' }), p, 'near miss on the value')
  t.equal(policyForNamespace(p, 'shop', undefined), p, 'labels unknown: the policy itself')
  t.equal(policyForNamespace(p, undefined, { env: 'prod' }), p, 'no namespace: the policy itself')
})

t.test('the namespace name label is matched even where the API server does not set it (before 1.21)', async (t) => {
  const p = parsePolicy(
    `${HEAD}bindings:\n  - name: by-name\n    namespaceSelector:\n      matchExpressions:\n        - { key: kubernetes.io/metadata.name, operator: In, values: [payments] }\n    mode: audit\n`,
    'p.yaml',
    RULES,
  )
  t.equal(policyForNamespace(p, 'payments', {}).binding, 'by-name')
  t.equal(policyForNamespace(p, 'payments-dev', {}).binding, undefined)
  t.equal(policyForNamespace(p, 'payments', { 'kubernetes.io/metadata.name': 'other' }).binding, undefined, 'a label that is there is not overwritten')
})

t.test('an empty namespaceSelector matches every namespace, as in Kubernetes', async (t) => {
  const p = parsePolicy(`${HEAD}bindings:\n  - name: all\n    namespaceSelector: {}\n    mode: audit\n`, 'p.yaml', RULES)
  t.equal(policyForNamespace(p, 'x', {}).mode, 'audit')
})

t.test('binding mistakes name the file, the line and the path', async (t) => {
  t.same(problems(`${HEAD}bindings:\n  - name: x\n    namespaceSelector: {}\n`), ['p.yaml:4: bindings[0]: a binding needs a mode, rule actions (rules:), or both; as it is it changes nothing'])
  t.same(problems(`${HEAD}bindings:\n  - name: x\n    mode: audit\n`), ['p.yaml:4: bindings[0].namespaceSelector: is required'])
  t.same(problems(`${HEAD}bindings:\n  - name: x\n    namespaceSelector: {}\n    rules:\n      image-tag-lates: deny\n`), [
    "p.yaml:7: bindings[0].rules.image-tag-lates: unknown rule id; did you mean image-tag-latest? ('pod-preflight rules' lists them)",
  ])
  t.same(problems(`${HEAD}bindings:\n  - name: x\n    namespaceSelector: {}\n    rules:\n      image-tag-latest: block\n`), [
    'p.yaml:7: bindings[0].rules.image-tag-latest: must be one of "deny", "warn", "info", "off"',
  ])
  t.same(problems(`${HEAD}bindings:\n  - name: x\n    namespaceSelector: { matchLabels: { env: prod } }\n    mode: audit\n  - name: x\n    namespaceSelector: {}\n    mode: audit\n`), [
    "p.yaml:7: bindings[1].name: 'x' is already the name of bindings[0]; names must be unique",
  ])
  t.same(problems(`${HEAD}bindings:\n  - name: x\n    namespaceSelector:\n      matchExpressions:\n        - { key: env, operator: In }\n    mode: audit\n`), [
    'p.yaml:7: bindings[0].namespaceSelector.matchExpressions[0].values: In needs at least one value',
  ])
  t.same(problems(`${HEAD}bindings:\n  - name: x\n    namespaceSelector:\n      matchExpressions:\n        - { key: env, operator: Exists, values: [a] }\n    mode: audit\n`), [
    'p.yaml:7: bindings[0].namespaceSelector.matchExpressions[0].values: Exists takes no values',
  ])
  t.same(problems(`${HEAD}bindings:\n  - name: x\n    namespaceSelector: { matchLabel: { env: prod } }\n    mode: audit\n`), [
    'p.yaml:5: bindings[0].namespaceSelector.matchLabel: unknown field',
  ])
  t.same(problems(`${HEAD}skipAnnotation:\n  enabled: "no"\n`), ['p.yaml:4: skipAnnotation.enabled: must be boolean'])
})

t.test('skipAnnotation: on by default, can be turned off or limited to namespaces', async (t) => {
  const on = parsePolicy(HEAD, 'p.yaml', RULES)
  t.ok(skipHonoured(on.skip, 'any'))
  const off = parsePolicy(`${HEAD}skipAnnotation: { enabled: false }\n`, 'p.yaml', RULES)
  t.notOk(skipHonoured(off.skip, 'any'))
  const some = parsePolicy(`${HEAD}skipAnnotation: { namespaces: [sandbox, "team-*"] }\n`, 'p.yaml', RULES)
  t.ok(skipHonoured(some.skip, 'sandbox'))
  t.ok(skipHonoured(some.skip, 'team-x'))
  t.notOk(skipHonoured(some.skip, 'prod'))
  t.notOk(skipHonoured(some.skip, 'sandbox2'), 'a name is not a prefix')
  t.notOk(skipHonoured(some.skip, undefined))
})

const latestPod = (ns: string): unknown => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: ns, annotations: { 'pod-preflight/skip': 'image-tag-latest' } },
  spec: { containers: [{ name: 'c', image: 'nginx:latest', command: ['nginx'], resources: { limits: { memory: '64Mi', 'ephemeral-storage': '1Gi' }, requests: { memory: '64Mi' } } }] },
})

function skippedAndFired(policy: Policy, ns: string): { skipped: string[]; fired: string[]; notes: string[] } {
  const e = evaluateObject(latestPod(ns), { policy, rules: RULES })
  return {
    skipped: e.skipped.filter((s) => s.by === 'annotation').map((s) => s.rule),
    fired: e.findings.map((f) => f.rule),
    notes: e.problems.map((p) => p.message),
  }
}

t.test('a refused skip annotation is not obeyed, and the evaluation says so', async (t) => {
  const allowed = skippedAndFired(parsePolicy(HEAD, 'p.yaml', RULES), 'apps')
  t.same(allowed.skipped, ['image-tag-latest'])
  t.notOk(allowed.fired.includes('image-tag-latest'))

  const off = skippedAndFired(parsePolicy(`${HEAD}metadata: { name: strict }\nskipAnnotation: { enabled: false }\n`, 'p.yaml', RULES), 'apps')
  t.same(off.skipped, [])
  t.ok(off.fired.includes('image-tag-latest'), 'the rule ran')
  t.same(off.notes, ['metadata.annotations["pod-preflight/skip"] is turned off by policy strict; every rule ran'])

  const limited = parsePolicy(`${HEAD}metadata: { name: p }\nskipAnnotation: { namespaces: ["sandbox-*"] }\n`, 'p.yaml', RULES)
  t.same(skippedAndFired(limited, 'sandbox-1').skipped, ['image-tag-latest'], 'honoured where listed')
  const prod = skippedAndFired(limited, 'prod')
  t.ok(prod.fired.includes('image-tag-latest'))
  t.same(prod.notes, ['metadata.annotations["pod-preflight/skip"] is honoured only in namespaces sandbox-* by policy p; every rule ran'])
})

t.test('a removed apiVersion the cluster serves is not reported as no longer served', async (t) => {
  const cron = {
    apiVersion: 'batch/v1beta1',
    kind: 'CronJob',
    metadata: { name: 'c', namespace: 'apps' },
    spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox:1.36.1', command: ['true'] }] } } } } },
  }
  const policy = parsePolicy(HEAD, 'p.yaml', RULES)
  const offline = evaluateObject(cron, { policy, rules: RULES })
  t.ok(offline.problems.some((p) => p.message.includes('is no longer served')), 'a manifest file is told (check)')
  const served = evaluateObject(cron, { policy, rules: RULES, servedApiVersion: 'batch/v1beta1' })
  t.notOk(served.problems.some((p) => p.message.includes('no longer served')), 'an object the API server sent is not')
  const other = evaluateObject({ ...cron, apiVersion: 'batch/v2alpha1' }, { policy, rules: RULES, servedApiVersion: 'batch/v1beta1' })
  t.ok(other.problems.some((p) => p.message.includes('no longer served')), 'only the version served is exempt')
})

t.test('check honours audit mode: a deny is reported as a would-deny warning and fails nothing', async (t) => {
  const { runCheck } = await import('../../src/cli/run-check.js')
  const { parseDocuments } = await import('../../src/input/documents.js')
  const text = 'apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  containers:\n    - name: c\n      image: busybox:1.36.1\n'
  const docs = parseDocuments(text, 'pod.yaml').documents
  const enforce = runCheck(docs, [], { policy: parsePolicy(HEAD, 'p.yaml', RULES), rules: RULES, namespace: 'default', files: 1 })
  t.ok(enforce.summary.deny > 0, 'enforce: denies')
  const audit = runCheck(docs, [], { policy: parsePolicy(`${HEAD}mode: audit\n`, 'p.yaml', RULES), rules: RULES, namespace: 'default', files: 1 })
  t.equal(audit.summary.deny, 0, 'audit: nothing denies')
  t.equal(audit.summary.wouldDeny, enforce.summary.deny)
  const f = audit.objects[0]?.findings.find((x) => x.rule === 'command-missing')
  t.equal(f?.action, 'warn')
  t.match(f?.message ?? '', /^would deny \(audit\): /)
  const bound = runCheck(docs, [], { policy: parsePolicy(`${HEAD}bindings:\n  - name: b\n    namespaceSelector: {}\n    mode: audit\n`, 'p.yaml', RULES), rules: RULES, namespace: 'default', files: 1 })
  t.ok(bound.summary.deny > 0, 'bindings do not apply to a file run')
  t.match(bound.warnings[0]?.message ?? '', /binding applies at admission only/)
})
