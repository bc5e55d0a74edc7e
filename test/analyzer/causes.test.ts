import t from 'tap'
import { CAUSES, CAUSE_IDS, isCauseId } from '../../src/analyzer/causes.js'
import { EXPECTED, fixtureFiles, runFixture } from './fixtures.js'

t.test('every cause id has a one-line doc', async (t) => {
  for (const id of CAUSE_IDS) {
    t.match(id, /^[a-z]+(-[a-z]+)*$/, `${id} is kebab-case`)
    const doc = CAUSES[id]
    t.ok(doc.length > 10 && !doc.includes('\n'), `${id} has a one-line doc`)
  }
  t.ok(isCauseId('oom-killed'))
  t.notOk(isCauseId('toString'), 'prototype names are not cause ids')
})

t.test('every fixture has its expectation, and every expectation its fixture', async (t) => {
  const files = fixtureFiles()
  t.same(files.filter((f) => !(f in EXPECTED)), [], 'no fixture without an expectation')
  t.same(Object.keys(EXPECTED).filter((f) => !files.includes(f)), [], 'no expectation without a fixture')
})

t.test('every cause id is produced by some fixture', async (t) => {
  const produced = new Set<string>()
  for (const file of fixtureFiles()) for (const run of runFixture(file)) for (const d of run.diagnoses) produced.add(d.cause)
  const missing = CAUSE_IDS.filter((id) => !produced.has(id))
  t.same(missing, [], `causes without a fixture: ${missing.join(', ')}`)
  const unknown = [...produced].filter((c) => !isCauseId(c))
  t.same(unknown, [], 'only known cause ids are produced')
})

t.test('every preventedBy names a rule of the catalogue', async (t) => {
  const RULES = new Set([
    'command-missing', 'command-whitespace-in-executable', 'command-backgrounded', 'command-shell-syntax-without-shell',
    'command-env-reference-undefined', 'init-container-never-exits', 'prestop-exceeds-grace-period', 'image-name-invalid',
    'image-tag-latest', 'image-pull-policy-never', 'image-registry-not-allowed', 'image-pull-secret-missing',
    'image-private-registry-no-pull-secret', 'memory-quantity-suspicious', 'cpu-quantity-suspicious', 'memory-limit-missing',
    'memory-request-below-limit', 'ephemeral-storage-limit-missing', 'jvm-heap-exceeds-memory-limit', 'jvm-heap-no-headroom',
    'jvm-memory-limit-missing', 'runtime-heap-exceeds-memory-limit', 'node-selector-unsatisfiable', 'node-affinity-unsatisfiable',
    'taints-not-tolerated', 'no-node-fits-requests', 'no-node-has-free-capacity', 'no-ready-node', 'anti-affinity-exceeds-nodes',
    'quota-exceeded', 'quota-requires-limits', 'limitrange-violation', 'probe-liveness-aggressive',
    'probe-liveness-startup-window-short', 'probe-liveness-equals-readiness', 'probe-port-undeclared', 'probe-timeout-exceeds-period',
    'probe-readiness-missing', 'mount-path-forbidden', 'configmap-missing', 'secret-missing', 'pvc-missing', 'service-account-missing',
  ])
  for (const file of fixtureFiles()) {
    for (const run of runFixture(file)) {
      for (const d of run.diagnoses) if (d.preventedBy !== undefined) t.ok(RULES.has(d.preventedBy), `${file}: ${d.preventedBy} is a rule id`)
    }
  }
})
