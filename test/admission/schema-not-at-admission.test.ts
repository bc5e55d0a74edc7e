/**
 * schema-invalid is a check-only rule: the webhook, with the whole catalogue and the default
 * policy (where it denies), admits an object the rule would deny in check, without a word of it.
 */
import t from 'tap'
import { RULES } from '../../src/rules/index.js'
import { loadDefaultPolicy } from '../../src/policy/policy.js'
import { evaluateObject } from '../../src/engine/evaluate.js'
import { kubernetesSchemas } from '../../src/schema/kubernetes.js'
import { post, review, testApp } from './helpers.js'

const service = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default' },
  spec: { selector: { app: 'web' }, ports: [{ port: 80, targetport: 8080 }] },
}

t.test('the same object: denied by check, admitted silently by the webhook', async (t) => {
  const policy = await loadDefaultPolicy(RULES)
  t.equal(policy.rules.get('schema-invalid')?.action, 'deny', 'the default policy denies it')
  const inCheck = evaluateObject(service, { policy, rules: RULES, schemas: kubernetesSchemas() })
  t.same(inCheck.findings.filter((f) => f.rule === 'schema-invalid').map((f) => f.path), ['spec.ports[0].targetport'], 'check reports it')
  const { app } = await testApp({ rules: RULES }, policy)
  const a = await post(app, review(service))
  t.equal(a.allowed, true, 'the webhook admits it')
  t.notMatch(JSON.stringify(a.body), /schema-invalid|targetport/, 'and says nothing of it')
  const noSchemas = evaluateObject(service, { policy, rules: RULES })
  t.same(noSchemas.findings, [], 'without schemas (as at admission) the rule does not run')
})

t.test('a Pod the webhook judges by its other rules: no schema finding among them', async (t) => {
  const policy = await loadDefaultPolicy(RULES)
  const bad = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'api', namespace: 'default' },
    spec: { containers: [{ name: 'api', image: 'registry.example.com/api:latest', imagePulPolicy: 'Always', resources: { limts: { memory: '1Gi' } } }] },
  }
  const inCheck = evaluateObject(bad, { policy, rules: RULES, schemas: kubernetesSchemas() })
  t.same(inCheck.findings.filter((f) => f.rule === 'schema-invalid').map((f) => f.path).sort(), ['spec.containers[0].imagePulPolicy', 'spec.containers[0].resources.limts'])
  const { app } = await testApp({ rules: RULES }, policy)
  const a = await post(app, review(bad))
  t.match(JSON.stringify(a.warnings ?? []), /image-tag-latest/, 'the webhook judged the Pod (it warns of its other findings)')
  t.notMatch(JSON.stringify(a.body), /schema-invalid/, 'but runs no schema check')
})
