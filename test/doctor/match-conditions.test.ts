/**
 * doctor's webhook-configuration check names the entries' matchConditions (the README's "Fewer
 * reviews" patch adds one), so that an operator missing owned Pods in the metrics sees why.
 */
import t from 'tap'
import { MAX_CONDITIONS_SHOWN, matchConditionsNote, ownedObjectsMismatch } from '../../src/doctor/checks.js'

const entry = (conditions?: unknown): Record<string, unknown> => ({
  name: 'validate.pod-preflight.io',
  clientConfig: { service: { name: 'pod-preflight', namespace: 'pod-preflight' } },
  ...(conditions === undefined ? {} : { matchConditions: conditions }),
})

t.test('no match conditions: nothing is added', async (t) => {
  t.equal(matchConditionsNote([entry()]), '')
  t.equal(matchConditionsNote([entry([])]), '')
  t.equal(matchConditionsNote([]), '')
  t.equal(matchConditionsNote([entry('not a list'), null, 7]), '', 'a malformed entry is no condition')
})

t.test('one condition: named, and what it means for the metrics', async (t) => {
  const note = matchConditionsNote([entry([{ name: 'not-owned-by-a-workload', expression: 'true' }])])
  t.match(note, /^; match condition "not-owned-by-a-workload": the API server calls the webhook only where they hold/)
  t.match(note, /not in its metrics or log/)
})

t.test('many conditions over several entries: the first few named, the rest counted', async (t) => {
  const many = Array.from({ length: 5 }, (_, i) => ({ name: `c${i}`, expression: 'true' }))
  const note = matchConditionsNote([entry(many), entry([{ name: 'other', expression: 'true' }])])
  t.match(note, /^; match conditions "c0", "c1", "c2" and 3 more:/)
  t.equal((note.match(/"c\d"/g) ?? []).length, MAX_CONDITIONS_SHOWN)
})

t.test('names are escaped and shortened; a condition without a name still counts', async (t) => {
  const note = matchConditionsNote([entry([{ name: 'evil\n✗ dry-run: forged', expression: 'true' }, { expression: 'true' }, { name: 'x'.repeat(500) }])])
  t.notMatch(note, /\n/, 'no raw newline: no forged doctor line')
  t.match(note, /"evil\\n/)
  t.match(note, /"\?"/, 'the nameless one is shown as ?')
  t.ok(note.length < 400, `bounded (${note.length} characters)`)
})

t.test('the count is bounded per entry (the API server allows 64)', async (t) => {
  const note = matchConditionsNote([entry(Array.from({ length: 10_000 }, (_, i) => ({ name: `c${i}` })))])
  t.match(note, / and 61 more:/)
})

t.test("the policy check warns when the policy says judge and the condition keeps owned objects away", async (t) => {
  const owned = [entry([{ name: 'not-owned-by-a-workload', expression: 'true' }])]
  t.match(ownedObjectsMismatch(owned, 'judge'), /ownedObjects: judge, but the webhook configuration's match condition "not-owned-by-a-workload" keeps the API server from sending controller-owned objects/)
  t.equal(ownedObjectsMismatch(owned, 'skip'), undefined, 'skip: they agree')
  t.equal(ownedObjectsMismatch([entry()], 'judge'), undefined, 'no condition: they agree')
  t.equal(ownedObjectsMismatch([entry([{ name: 'other', expression: 'true' }])], 'judge'), undefined, 'a condition of another name is not ours')
  t.equal(ownedObjectsMismatch([entry('not a list'), null, 7], 'judge'), undefined, 'malformed entries')
  t.ok(ownedObjectsMismatch([entry(), ...owned], 'judge'), 'found in any entry')
})
