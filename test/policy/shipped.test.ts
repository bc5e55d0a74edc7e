/**
 * The shipped policies as the build carries them (dist/policy/policies.generated.json): what
 * `policyFromShipped` makes of them is the policy validating the text makes, the validated
 * parameters are used only while the schemas are those of the build, and a policy made from
 * them shares nothing with the next one.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { RULES } from '../../src/rules/index.js'
import { BUILTIN_POLICIES, builtinPolicyFile } from '../../src/policy/builtin.js'
import { parsePolicy, policyFromShipped, readPolicyText, shippedPoliciesData, type Policy } from '../../src/policy/policy.js'
import { shippedPolicies } from '../../src/policy/validators.js'
import type { PodRule } from '../../src/engine/rule.js'

const texts = BUILTIN_POLICIES.map((name) => ({ name, text: readFileSync(builtinPolicyFile(name), 'utf8'), source: `policies/${name}.yaml` }))
const data = shippedPoliciesData(texts, RULES)
const first = texts[0]
if (first === undefined) throw new Error('no shipped policy')

/** Everything a policy holds, Maps included, as plain data. */
const plain = (p: Policy): unknown =>
  JSON.parse(JSON.stringify(p, (_k, v: unknown) => (v instanceof Map ? { map: [...(v as Map<unknown, unknown>)] } : v))) as unknown

t.test('running from the sources there is no shipped file: every policy is read and validated', async (t) => {
  t.equal(shippedPolicies(), null)
})

t.test('each shipped policy is carried with its text, what it reads as, and what the validators made of it', async (t) => {
  t.equal(data.policies.length, BUILTIN_POLICIES.length)
  for (const [i, { name, text, source }] of texts.entries()) {
    const carried = data.policies[i]
    t.equal(carried?.text, text, name)
    t.same(carried?.content, readPolicyText(text, source).content, `${name}: as the yaml package reads it`)
    t.ok(carried?.validated !== undefined, `${name}: validated at build time`)
    t.same(Object.keys(carried?.validated?.params ?? {}).sort(), RULES.map((r) => r.id).sort(), `${name}: every rule's parameters`)
  }
})

t.test('the policy made from what the build carries is the policy validating the text makes', async (t) => {
  for (const { name, text, source } of texts) {
    const fast = policyFromShipped(text, source, RULES, data)
    const read = parsePolicy(text, source, RULES)
    if (fast === undefined) {
      t.fail(`${name}: not found`)
      continue
    }
    t.same(plain(fast), plain(read), name)
    t.ok(plain(read) !== null && JSON.stringify(plain(read)).includes('"params"'), `${name}: the comparison sees parameters`)
    // Defaults the validators filled in are there (a rule's default list).
    t.same(fast.rules.get('command-missing')?.params['baseImages'], read.rules.get('command-missing')?.params['baseImages'], `${name}: a default filled in`)
  }
})

t.test('the validated parameters are what a shipped policy runs with, while the schemas are the same', async (t) => {
  const { text, source } = first
  const marked = structuredClone(data)
  const entry = marked.policies[0]?.validated
  if (entry === undefined) return t.fail('not validated')
  entry.params['init-container-never-exits'] = { minSleepSeconds: 4242 }
  // The schemas are those of the build: the carried parameters are taken as they are (not validated again).
  t.equal(policyFromShipped(text, source, RULES, marked)?.rules.get('init-container-never-exits')?.params['minSleepSeconds'], 4242, 'taken as carried')
  // A rule whose parameter schema changed since the build: everything is validated again.
  const changed = RULES.map((r) =>
    r.id === 'init-container-never-exits'
      ? ({ ...r, params: { ...r.params, properties: { minSleepSeconds: { type: 'integer', minimum: 1, default: 60 } } } } as PodRule<unknown>)
      : r,
  )
  const again = policyFromShipped(text, source, changed, marked)
  t.equal(again?.rules.get('init-container-never-exits')?.params['minSleepSeconds'], 60, "validated again: the changed schema's default")
  // A rule added since the build: validated again too, and the new rule has its parameters.
  const added = [...RULES, { ...RULES[0], id: 'test-added' } as PodRule<unknown>]
  const withAdded = policyFromShipped(text, source, added, marked)
  t.equal(withAdded?.rules.get('init-container-never-exits')?.params['minSleepSeconds'], 86400, 'not the carried value')
  t.ok(withAdded?.rules.has('test-added'), 'the added rule has its setting')
})

t.test('a text that is not a shipped policy is not found; content JSON cannot keep is not carried', async (t) => {
  t.equal(policyFromShipped('apiVersion: pod-preflight/v1\nkind: Policy\n', 'p.yaml', RULES, data), undefined)
  t.equal(policyFromShipped(first.text, 'p.yaml', RULES, null), undefined)
  const odd = shippedPoliciesData([{ text: 'apiVersion: pod-preflight/v1\nkind: Policy\nmetadata: { name: .inf }\n', source: 'odd.yaml' }], RULES)
  t.same(odd.policies, [], 'a .inf is read at run time, not carried as null')
  const bad = shippedPoliciesData([{ text: 'apiVersion: pod-preflight/v1\nkind: Policy\nmode: maybe\n', source: 'bad.yaml' }], RULES)
  t.equal(bad.policies.length, 1)
  t.equal(bad.policies[0]?.validated, undefined, 'a policy that does not validate is carried as read, not as validated')
  t.throws(() => policyFromShipped(bad.policies[0]?.text ?? '', 'bad.yaml', RULES, bad), { name: 'PolicyError' }, 'and is refused as it would be')
})

t.test('two policies made from the same carried data share nothing', async (t) => {
  const { text, source } = first
  const a = policyFromShipped(text, source, RULES, data)
  const b = policyFromShipped(text, source, RULES, data)
  const list = a?.rules.get('command-missing')?.params['baseImages'] as string[] | undefined
  list?.push('changed')
  t.notOk((b?.rules.get('command-missing')?.params['baseImages'] as string[] | undefined)?.includes('changed'), 'a change to one is not seen in the other')
  t.notOk(JSON.stringify(data).includes('"changed"'), 'nor in the carried data')
})
