// The cluster lookups wired into two static rules: the ServiceAccount's imagePullSecrets, and LimitRange default limits.
import t from 'tap'
import { evaluateObject } from '../../src/engine/evaluate.js'
import { buildPolicy } from '../../src/policy/policy.js'
import { rule as privateRegistry } from '../../src/rules/image-private-registry-no-pull-secret.js'
import { rule as memoryLimit } from '../../src/rules/memory-limit-missing.js'
import { relatedFromObjects } from '../../src/engine/related.js'
import type { PodRule } from '../../src/engine/rule.js'
import { view } from './helpers.js'

const run = (rule: PodRule<unknown>, obj: unknown, extra: Record<string, unknown>) => {
  const policy = buildPolicy({ apiVersion: 'pod-preflight/v1', kind: 'Policy' }, 'test', [rule])
  return evaluateObject(obj, { policy, rules: [rule], namespace: 'default', ...extra }).findings
}
const podWith = (spec: Record<string, unknown>, ns = 'default') => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: ns }, spec })
const image = 'harbor.example.com/team/app:1.0.0'

t.test('image-private-registry-no-pull-secret reads the ServiceAccount from the cluster or the run', async (t) => {
  const rule = privateRegistry as PodRule<unknown>
  const cluster = view([
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'default' } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'puller', namespace: 'default' }, imagePullSecrets: [{ name: 'regcred' }] },
  ])
  const spec = (sa?: string) => ({ ...(sa ? { serviceAccountName: sa } : {}), containers: [{ name: 'a', image }] })
  t.same(run(rule, podWith(spec('puller')), { cluster }), [], 'the ServiceAccount carries a pull secret')
  const plain = run(rule, podWith(spec()), { cluster })
  t.equal(plain.length, 1)
  t.match(plain[0]?.message ?? '', /nor does ServiceAccount "default"/, 'known to have none: no "unless" clause')
  const unknownNs = run(rule, podWith(spec(), 'elsewhere'), { cluster })
  t.match(unknownNs[0]?.message ?? '', /unless ServiceAccount "default" carries one/)
  const related = relatedFromObjects([{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'builder' }, imagePullSecrets: [{ name: 'x' }] }], { complete: false })
  t.same(run(rule, podWith(spec('builder')), { related }), [], 'a ServiceAccount in the run counts')
})

t.test('memory-limit-missing counts a LimitRange default limit, when the cluster state knows it', async (t) => {
  const rule = memoryLimit as PodRule<unknown>
  const cluster = view([
    { apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'mem', namespace: 'default' }, spec: { limits: [{ type: 'Container', default: { memory: '512Mi' } }] } },
    { apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'cpu-only', namespace: 'other' }, spec: { limits: [{ type: 'Container', default: { cpu: '1' } }] } },
  ])
  const spec = { containers: [{ name: 'a', image: 'a' }] }
  t.same(run(rule, podWith(spec), { cluster }), [])
  t.equal(run(rule, podWith(spec, 'other'), { cluster }).length, 1, 'a default for cpu only does not count')
  t.equal(run(rule, podWith(spec), {}).length, 1, 'statically it is still reported')
})
