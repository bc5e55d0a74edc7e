import t from 'tap'
import { boundWarnings, formatWarning, sanitizeWarning, truncate, MAX_WARNING_LENGTH } from '../../src/admission/warnings.js'
import { controllingWorkload, denyMessage } from '../../src/admission/verdict.js'

t.test('sanitize: one printable line without a Warning: prefix', async (t) => {
  t.equal(sanitizeWarning('Warning: warning:  a\nb\t\u0000c  '), 'a\\nb\\t\\0c', 'controls are escaped visibly')
  t.equal(sanitizeWarning('line\u2028separator'), 'line\\u2028separator')
  t.equal(sanitizeWarning('abc\u202edcba \u001b[2J\u009b1m\u0007'), 'abc\\u202edcba \\x1b[2J\\x9b1m\\a', 'bidi override, ESC, 8-bit CSI and BEL')
})

t.test('truncate by characters, never half a surrogate pair', async (t) => {
  t.equal(truncate('short'), 'short')
  const long = 'x'.repeat(200)
  t.equal(truncate(long).length, MAX_WARNING_LENGTH)
  t.ok(truncate(long).endsWith('…'))
  const emoji = '😀'.repeat(130)
  const cut = truncate(emoji)
  t.equal(Array.from(cut).length, MAX_WARNING_LENGTH)
  t.notMatch(cut, /[\uD800-\uDBFF](?![\uDC00-\uDFFF])/, 'no lone high surrogate')
  t.ok(formatWarning(`Warning: ${'y'.repeat(300)}`).length <= MAX_WARNING_LENGTH)
})

t.test('bound: dedupe, cap, summarise the rest', async (t) => {
  t.same(boundWarnings(['a', 'a', 'b']), ['a', 'b'])
  t.same(boundWarnings(['a', 'b', 'c'], 3), ['a', 'b', 'c'])
  const out = boundWarnings(['a', 'b', 'c', 'd'], 3)
  t.same(out, ['a', 'b', "...and 2 more; run 'pod-preflight check' on the manifest to see them all"])
  t.same(boundWarnings(['a'], 0), [])
})

t.test('controllingWorkload', async (t) => {
  const meta = (refs: unknown[]): Record<string, unknown> => ({ metadata: { ownerReferences: refs } })
  t.equal(controllingWorkload(meta([{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'a', controller: true }])), 'ReplicaSet/a')
  t.equal(controllingWorkload(meta([{ apiVersion: 'v1', kind: 'ReplicationController', name: 'r', controller: true }])), 'ReplicationController/r')
  t.equal(controllingWorkload(meta([{ apiVersion: 'batch/v1', kind: 'Job', name: 'j', controller: true }])), 'Job/j')
  t.equal(controllingWorkload(meta([{ apiVersion: 'v1', kind: 'ReplicaSet', name: 'a', controller: true }])), undefined, 'wrong group')
  t.equal(controllingWorkload(meta([{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'a', controller: false }])), undefined)
  t.equal(controllingWorkload(meta(['junk', null, 3])), undefined)
  t.equal(controllingWorkload({ metadata: { ownerReferences: 'x' } }), undefined)
})

t.test('denyMessage', async (t) => {
  const f = { rule: 'r', action: 'deny' as const, object: { apiVersion: 'v1', kind: 'Pod', name: 'p' }, path: 'spec.containers[0].image', message: 'bad', fix: 'good' }
  t.equal(denyMessage({ apiVersion: 'v1', kind: 'Pod', name: 'p', namespace: 'n' }, [f], []), 'pod-preflight: Pod n/p would fail at run time (1 problem):\n- [r] spec.containers[0].image: bad\n  fix: good')
  t.equal(denyMessage({ apiVersion: 'v1', kind: 'Pod', name: '' }, [f, f], [{ ...f, action: 'warn' }]).split('\n')[0], 'pod-preflight: Pod (unnamed) would fail at run time (2 problems):')
})
