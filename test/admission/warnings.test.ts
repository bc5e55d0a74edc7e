import t from 'tap'
import { boundWarnings, findingWarning, formatWarning, sanitizeWarning, truncate, MAX_WARNING_LENGTH } from '../../src/admission/warnings.js'
import { RULES } from '../../src/rules/index.js'
import { fixturesOf, fixtureSetup, runRule } from '../helpers/fixtures.js'
import { denyMessage } from '../../src/admission/verdict.js'
import { controllingWorkload } from '../../src/admission/owners.js'

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

t.test('a finding whose message fits is sent whole; a longer one in a short form ending with the rule id', async (t) => {
  const f = { rule: 'image-tag-latest', message: 'container web: image nginx has no tag', path: 'spec.containers[0].image', container: 'web' }
  t.equal(findingWarning(f, 'Image without a tag or with latest'), 'image-tag-latest: container web: image nginx has no tag')
  const long = { ...f, message: `container web: ${'a long explanation and '.repeat(10)}then the fix` }
  t.equal(findingWarning(long, 'Image without a tag or with latest'), 'container "web": Image without a tag or with latest (image-tag-latest)', 'no sentence fits')
  const sentences = { ...f, message: `container web: image nginx has no tag; ${'the rest is long and '.repeat(10)}` }
  t.equal(findingWarning(sentences, 'Image without a tag or with latest'), 'container web: image nginx has no tag (image-tag-latest)', 'the first sentence')
  const audit = findingWarning({ ...long, container: 'c'.repeat(63) }, 'Image without a tag or with latest', 'would deny (audit): ')
  t.ok(audit.length <= MAX_WARNING_LENGTH, audit)
  t.ok(audit.startsWith('would deny (audit): container "ccc') && audit.endsWith(': Image without a tag or with latest (image-tag-latest)'), audit)
  const nasty = findingWarning({ ...long, container: 'x\u202e\n'.repeat(40) }, 'Image without a tag or with latest')
  t.ok(nasty.length <= MAX_WARNING_LENGTH && nasty.endsWith('(image-tag-latest)'), nasty)
  t.notMatch(nasty, /[\u202e\n]/, 'controls escaped')
})

t.test('a warning line is kept per finding: the same finding again gives the same line, any other field another', async (t) => {
  const f = { rule: 'image-tag-latest', message: `container web: ${'a long explanation and '.repeat(10)}then the fix`, path: 'spec.template.spec.containers[0].image', container: 'web' }
  const title = 'Image without a tag or with latest'
  const first = findingWarning(f, title)
  t.equal(findingWarning({ ...f }, title), first, 'the same line for an equal finding')
  t.equal(findingWarning({ ...f, container: 'api' }, title), 'container "api": Image without a tag or with latest (image-tag-latest)', 'another container')
  t.equal(findingWarning({ ...f, container: undefined as unknown as string }, title), 'containers[0].image: Image without a tag or with latest (image-tag-latest)', 'no container: the path')
  t.equal(findingWarning({ ...f, container: undefined as unknown as string, path: 'spec.template.spec.initContainers[1].image' }, title), 'initContainers[1].image: Image without a tag or with latest (image-tag-latest)', 'another path')
  t.equal(findingWarning(f, 'Another title'), 'container "web": Another title (image-tag-latest)', 'another title')
  t.equal(findingWarning(f, title, 'would deny (audit): '), 'would deny (audit): container "web": Image without a tag or with latest (image-tag-latest)', 'another prefix')
  t.equal(findingWarning({ ...f, rule: 'other-rule' }, title), 'container "web": Image without a tag or with latest (other-rule)', 'another rule')
  t.equal(findingWarning({ ...f, message: 'short' }, title), 'image-tag-latest: short', 'another message')
  t.equal(findingWarning(f, title), first, 'and the first again')
})

t.test('characters are counted as a person reads them: a surrogate pair is one', async (t) => {
  const f = { rule: 'r', message: '\u{1F600}'.repeat(MAX_WARNING_LENGTH - 3), path: 'spec.containers[0].image', container: 'c' }
  t.equal(findingWarning(f, 'Title'), `r: ${f.message}`, '120 code points (237 UTF-16 units) fit whole')
  const over = { ...f, message: '\u{1F600}'.repeat(MAX_WARNING_LENGTH - 2) }
  t.equal(findingWarning(over, 'Title'), 'container "c": Title (r)', '121 do not')
  const lone = findingWarning({ ...f, message: `\ud800${'x'.repeat(200)}` }, 'Title')
  t.ok(Array.from(lone).length <= MAX_WARNING_LENGTH, lone)
  t.notMatch(lone, /[\ud800-\udfff]/, 'a lone surrogate is escaped, not counted as half a pair')
})

t.test('every rule: the warning of each finding on its fire fixtures fits in 120 characters and is never cut', async (t) => {
  for (const rule of RULES) {
    for (const fx of fixturesOf(rule.id).filter((f) => f.kind === 'fire')) {
      const run = runRule(rule, fx.text, fx.header.params, fixtureSetup(rule, fx).extra)
      const findings = run.evaluations.flatMap((e) => e.findings).filter((f) => f.rule === rule.id)
      for (const f of findings) {
        for (const prefix of ['', 'would deny (audit): ']) {
          const w = findingWarning(f, rule.title, prefix)
          const where = `${rule.id}/${fx.name} ${f.path}`
          t.ok(Array.from(w).length <= MAX_WARNING_LENGTH, `${where}: ${w.length} characters`)
          t.equal(formatWarning(w), w, `${where}: sent as is, not cut`)
          const whole = w === `${prefix}${f.rule}: ${f.message}`
          if (whole) continue
          const lead = w.slice(prefix.length, -` (${rule.id})`.length)
          t.ok(w.startsWith(prefix) && w.endsWith(` (${rule.id})`), `${where}: short form ends with the rule id: ${w}`)
          t.ok(
            (f.message.startsWith(lead) && /^[.;,]\s/.test(f.message.slice(lead.length))) || w.endsWith(`: ${rule.title} (${rule.id})`),
            `${where}: whole sentences of the message, or the place and the rule's whole title: ${w}`,
          )
        }
      }
    }
  }
})
