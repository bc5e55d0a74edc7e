import t from 'tap'
import { parsePolicy, buildPolicy, PolicyError, type Policy } from '../../src/policy/policy.js'
import { defineRule, type PodRule } from '../../src/engine/rule.js'
import { evaluateObject } from '../../src/engine/evaluate.js'
import { rule as pullNever } from '../../src/rules/image-pull-policy-never.js'

// A rule with parameters, to test how params are validated and defaulted.
const thresholdRule = defineRule<{ seconds: number; names: string[] }>({
  id: 'test-threshold',
  title: 'a test rule',
  defaultAction: 'warn',
  scope: ['static'],
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      seconds: { type: 'integer', minimum: 1, default: 10, description: 'a threshold' },
      names: { type: 'array', items: { type: 'string' }, default: ['a'], description: 'names' },
    },
  },
  docs: { summary: 'x'.repeat(20), description: 'x'.repeat(20), failure: 'x'.repeat(20), fix: 'x'.repeat(20) },
  check: (pod, ctx) => [{ path: pod.specPath, message: `seconds=${ctx.params.seconds} names=${ctx.params.names.join(',')}`, fix: 'nothing to fix' }],
})
const RULES = [pullNever, thresholdRule] as PodRule<unknown>[]

function problems(text: string): string[] {
  try {
    parsePolicy(text, 'p.yaml', RULES)
  } catch (err) {
    if (err instanceof PolicyError) return err.problems
    throw err
  }
  return []
}

const HEAD = 'apiVersion: pod-preflight/v1\nkind: Policy\n'

t.test('defaults apply to rules the policy leaves out', async (t) => {
  const p = parsePolicy(HEAD, 'p.yaml', RULES)
  t.same(p.rules.get('test-threshold'), { action: 'warn', params: { seconds: 10, names: ['a'] } })
  t.same(p.rules.get('image-pull-policy-never'), { action: 'warn', params: {} })
})

t.test('shorthand and long form', async (t) => {
  const p = parsePolicy(`${HEAD}rules:\n  image-pull-policy-never: off\n  test-threshold:\n    action: deny\n    params: { seconds: 30 }\n`, 'p.yaml', RULES)
  t.equal(p.rules.get('image-pull-policy-never')?.action, 'off')
  t.same(p.rules.get('test-threshold'), { action: 'deny', params: { seconds: 30, names: ['a'] } })
})

t.test('every mistake names the file, the line and the path', async (t) => {
  t.same(problems(`${HEAD}rules:\n  image-pull-policy-nevr: warn\n`), [
    "p.yaml:4: rules.image-pull-policy-nevr: unknown rule id; did you mean image-pull-policy-never? ('pod-preflight rules' lists them)",
  ])
  t.same(problems(`${HEAD}rules:\n  test-threshold:\n    params:\n      seconds: "30"\n`), ['p.yaml:6: rules.test-threshold.params.seconds: must be integer'])
  t.same(problems(`${HEAD}rules:\n  test-threshold:\n    params:\n      second: 30\n`), ['p.yaml:6: rules.test-threshold.params.second: unknown field'])
  t.same(problems(`${HEAD}rules:\n  test-threshold: block\n`), ['p.yaml:4: rules.test-threshold: must be an action (deny, warn, info, off) or a map with action and params'], 'a bad action')
  t.same(problems('apiVersion: pod-preflight/v2\nkind: Policy\n'), ['p.yaml:1: apiVersion: must be "pod-preflight/v1"'])
  t.same(problems(`${HEAD}exemptions:\n  - namespaces: [dev]\n`), ['p.yaml:4: exemptions[0].reason: is required'])
  t.same(problems(`${HEAD}exemptions:\n  - reason: legacy\n    rules: [test-treshold]\n`), ["p.yaml:5: exemptions[0].rules[0]: unknown rule id 'test-treshold'; did you mean test-threshold?"])
  t.same(problems(`${HEAD}rules: [\n`).length, 1, 'malformed YAML')
  t.match(problems(`${HEAD}rules: [\n`)[0] ?? '', /^p\.yaml:\d+: /)
  t.same(problems(''), ['p.yaml: the policy is empty; it needs at least apiVersion: pod-preflight/v1 and kind: Policy'])
  t.same(problems(`${HEAD}rules:\n  a: warn\n  a: deny\n`).length, 1, 'duplicate keys')
})

const pod = (ns: string | undefined, labels: Record<string, string> = {}, annotations: Record<string, string> = {}): unknown => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', ...(ns ? { namespace: ns } : {}), labels, annotations },
  spec: { containers: [{ name: 'c', image: 'example.com/app:1', imagePullPolicy: 'Never' }] },
})

function fired(policy: Policy, obj: unknown): string[] {
  return evaluateObject(obj, { policy, rules: RULES, namespace: 'default' }).findings.map((f) => `${f.rule}:${f.action}`).sort()
}

t.test('exemptions by namespace, by label selector, and by annotation', async (t) => {
  const policy = buildPolicy(
    {
      apiVersion: 'pod-preflight/v1',
      kind: 'Policy',
      exemptions: [
        { reason: 'system namespaces', namespaces: ['kube-*'] },
        { reason: 'legacy apps', rules: ['image-pull-policy-never'], selector: { matchLabels: { legacy: 'true' } } },
      ],
    },
    'p',
    RULES,
  )
  t.same(fired(policy, pod('apps')), ['image-pull-policy-never:warn', 'test-threshold:warn'])
  t.same(fired(policy, pod('kube-system')), [], 'glob namespace exemption, every rule')
  t.same(fired(policy, pod(undefined)), ['image-pull-policy-never:warn', 'test-threshold:warn'], 'no namespace means the default one')
  t.same(fired(policy, pod('apps', { legacy: 'true' })), ['test-threshold:warn'], 'selector exemption, one rule')
  t.same(fired(policy, pod('apps', { legacy: 'false' })), ['image-pull-policy-never:warn', 'test-threshold:warn'], 'selector near miss')
  t.same(fired(policy, pod('apps', {}, { 'pod-preflight/skip': 'test-threshold, image-pull-policy-never' })), [], 'annotation skips both')
  const e = evaluateObject(pod('apps', {}, { 'pod-preflight/skip': 'image-pull-policy-nevr' }), { policy, rules: RULES })
  t.same(e.findings.map((f) => f.rule).sort(), ['image-pull-policy-never', 'test-threshold'], 'a misspelt id skips nothing')
  t.match(e.problems[0]?.message ?? '', /names unknown rule 'image-pull-policy-nevr'/)
  t.equal(e.problems[0]?.severity, 'warning')
})

t.test('params reach the rule with defaults applied', async (t) => {
  const policy = buildPolicy({ apiVersion: 'pod-preflight/v1', kind: 'Policy', rules: { 'test-threshold': { params: { names: ['x', 'y'] } } } }, 'p', RULES)
  const e = evaluateObject(pod('apps'), { policy, rules: RULES })
  t.match(e.findings.find((f) => f.rule === 'test-threshold')?.message ?? '', 'seconds=10 names=x,y')
})

t.test('a rule that throws is reported, not fatal', async (t) => {
  const broken = defineRule({ ...thresholdRule, id: 'test-broken', check: () => { throw new Error('boom') } }) as PodRule<unknown>
  const policy = buildPolicy({ apiVersion: 'pod-preflight/v1', kind: 'Policy' }, 'p', [broken, pullNever as PodRule<unknown>])
  const e = evaluateObject(pod('apps'), { policy, rules: [broken, pullNever as PodRule<unknown>] })
  t.same(e.findings.map((f) => f.rule), ['image-pull-policy-never'])
  t.match(e.problems[0]?.message ?? '', /rule test-broken could not judge this object \(boom\)/)
})
