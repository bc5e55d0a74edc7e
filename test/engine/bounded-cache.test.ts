import t from 'tap'
import { ByteBoundedCache, stringBytes } from '../../src/engine/bounded-cache.js'
import { EvaluationCache, evaluationBytes, INTERN_MAX_BYTES, INTERN_MAX_LENGTH, INTERN_MAX_TEXTS, sharedTexts } from '../../src/admission/verdict-cache.js'
import type { Evaluation } from '../../src/engine/evaluate.js'

t.test('ByteBoundedCache: evicts the least recently used past the byte budget', async (t) => {
  const c = new ByteBoundedCache<string, string>({ maxBytes: 1000, maxEntryBytes: 600, sizeOf: (k, v) => stringBytes(k) + stringBytes(v) })
  t.equal(c.set('a', 'x'.repeat(100)), true)
  t.equal(c.set('b', 'x'.repeat(100)), true)
  c.get('a') // a is now the most recent
  t.equal(c.set('c', 'x'.repeat(250)), true)
  t.ok(c.bytes <= 1000, `within the budget (${c.bytes})`)
  t.equal(c.has('b'), false, 'the least recently used went first')
  t.equal(c.has('a'), true)
  t.equal(c.has('c'), true)
  t.equal(c.set('huge', 'x'.repeat(400)), false, 'an entry over maxEntryBytes is not kept')
  t.equal(c.has('huge'), false)
})

t.test('ByteBoundedCache: a hit marks its entry, and eviction passes over a marked entry once (second chance)', async (t) => {
  const c = new ByteBoundedCache<string, number>({ maxBytes: 1e9, maxEntryBytes: 1e9, maxEntries: 3, sizeOf: () => 8 })
  c.set('a', 1)
  c.set('b', 2)
  c.set('c', 3)
  t.equal(c.get('a'), 1)
  c.set('d', 4)
  t.same(['a', 'b', 'c', 'd'].map((k) => c.has(k)), [true, false, true, true], 'the unused b went, not the older but used a')
  c.set('e', 5)
  t.same(['a', 'c', 'd', 'e'].map((k) => c.has(k)), [true, false, true, true], 'then c, the oldest unused')
  c.set('f', 6)
  t.same(['a', 'd', 'e', 'f'].map((k) => c.has(k)), [false, true, true, true], 'a had its second chance: unused since, it goes in its turn')
})

t.test('ByteBoundedCache: with every entry used, the oldest still goes first and the new entry is kept', async (t) => {
  const c = new ByteBoundedCache<string, number>({ maxBytes: 1e9, maxEntryBytes: 1e9, maxEntries: 3, sizeOf: () => 8 })
  for (const k of ['a', 'b', 'c']) c.set(k, 0)
  for (const k of ['a', 'b', 'c']) c.get(k)
  t.equal(c.set('d', 0), true)
  t.same(['a', 'b', 'c', 'd'].map((k) => c.has(k)), [false, true, true, true])
  t.equal(c.size, 3)
})

t.test('ByteBoundedCache: an entry that needs all the room evicts every other, used or not, and nothing else changes', async (t) => {
  const c = new ByteBoundedCache<number, number>({ maxBytes: 1000, maxEntryBytes: 1000, sizeOf: (_k, v) => v })
  for (let i = 0; i < 100; i++) c.set(i, 10)
  for (let i = 0; i < 100; i += 2) c.get(i)
  t.equal(c.bytes, 1000)
  t.equal(c.set(1000, 1000), true)
  t.equal(c.size, 1)
  t.equal(c.bytes, 1000)
  t.equal(c.get(1000), 1000)
  t.equal(c.set(2000, 1001), false, 'larger than the whole budget: refused, and the cache is as it was')
  t.equal(c.get(1000), 1000)
})

t.test('ByteBoundedCache: the byte count follows every eviction and replacement', async (t) => {
  const c = new ByteBoundedCache<number, number>({ maxBytes: 100, maxEntryBytes: 100, maxEntries: 7, sizeOf: (_k, v) => v })
  let seed = 7
  const next = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648)
  for (let i = 0; i < 5000; i++) {
    const k = next() % 23
    if (next() % 3 === 0) c.get(k)
    else c.set(k, 1 + (next() % 40))
    if (c.bytes > 100 || c.size > 7) return t.fail(`over the bounds after step ${i}: ${c.bytes} bytes, ${c.size} entries`)
  }
  let sum = 0
  for (let k = 0; k < 23; k++) sum += c.has(k) ? (c.get(k) as number) : 0
  t.equal(c.bytes, sum, 'the count is the sum of what is held')
})

t.test('ByteBoundedCache: maxEntries 0 keeps nothing', async (t) => {
  const c = new ByteBoundedCache<string, number>({ maxBytes: 1e9, maxEntryBytes: 1e9, maxEntries: 0, sizeOf: () => 8 })
  t.equal(c.set('a', 1), false)
  t.equal(c.size, 0)
})

t.test('ByteBoundedCache: maxEntries bounds the count too', async (t) => {
  const c = new ByteBoundedCache<number, number>({ maxBytes: 1e9, maxEntryBytes: 1e9, maxEntries: 3, sizeOf: () => 8 })
  for (let i = 0; i < 10; i++) c.set(i, i)
  t.equal(c.size, 3)
  t.same([7, 8, 9].map((k) => c.get(k)), [7, 8, 9])
  t.equal(c.get(0), undefined)
})

function evaluation(findings: number, messageLength: number): Evaluation {
  const object = { apiVersion: 'v1', kind: 'Pod', name: 'p', namespace: 'default' }
  return {
    recognised: true,
    object,
    findings: Array.from({ length: findings }, (_, i) => ({
      rule: 'env-var-undefined-reference',
      action: 'warn' as const,
      object,
      container: 'app',
      path: `spec.containers[0].args[${i}]`,
      message: 'm'.repeat(messageLength),
      fix: 'define the variable',
    })),
    problems: [],
    skipped: [],
  }
}

t.test('EvaluationCache: bounded in bytes, not only in entries', async (t) => {
  const big = evaluation(100, 2000)
  t.ok(evaluationBytes(big) > 400_000, `a hostile evaluation is counted as large (${evaluationBytes(big)} bytes)`)
  const cache = new EvaluationCache(1000, 2 * 1024 * 1024)
  for (let i = 0; i < 50; i++) cache.set(`key-${i}`, big)
  t.ok(cache.bytes <= 2 * 1024 * 1024, `held ${cache.bytes} bytes under a 2 MiB budget`)
  t.ok(cache.size < 50, `older entries went (${cache.size} kept)`)
  t.ok(cache.get('key-49') !== undefined, 'the newest is kept')
  t.equal(cache.get('key-0'), undefined, 'the oldest went')

  const small = new EvaluationCache(3)
  for (let i = 0; i < 5; i++) small.set(`k${i}`, evaluation(1, 10))
  t.equal(small.size, 3, 'the entry capacity still holds')
  t.equal(small.hits + small.misses, 0)
  small.get('k4')
  small.get('k0')
  t.equal(small.hits, 1)
  t.equal(small.misses, 1)

  const off = new EvaluationCache(0)
  off.set('k', evaluation(1, 10))
  t.equal(off.size, 0, 'capacity 0 turns the cache off')
})

t.test('EvaluationCache: kept evaluations share their texts, which stay the same values; the shared table is bounded', async (t) => {
  const cache = new EvaluationCache(100)
  const a = evaluation(3, 200)
  const before = JSON.stringify(a)
  cache.set('a', a)
  t.equal(JSON.stringify(cache.get('a')), before, 'the kept evaluation says exactly what it said')
  const held = sharedTexts()
  // Another copy of the same texts (a new object from the same template) adds nothing to the table.
  cache.set('b', evaluation(3, 200))
  t.same(sharedTexts(), held, 'equal texts are held once')
  t.equal(JSON.stringify(cache.get('b')), before)

  // A text too long to share is kept in its entry only.
  const long = evaluation(1, INTERN_MAX_LENGTH + 1)
  cache.set('long', long)
  // Its path, fix and container are those of the first evaluation, already held.
  t.same(sharedTexts(), held, 'the long message is not added to the table')
  t.equal(cache.get('long')?.findings[0]?.message.length, INTERN_MAX_LENGTH + 1)

  // Ever new texts (user input in messages): the table stays within its bounds.
  const churn = new EvaluationCache(10)
  for (let i = 0; i < 3 * INTERN_MAX_TEXTS; i++) {
    const e = evaluation(1, 10)
    const f = e.findings[0]
    if (f !== undefined) f.message = `container "c${i}" ${'x'.repeat(i % 700)}`
    churn.set(`k${i}`, e)
    const s = sharedTexts()
    if (s.texts > INTERN_MAX_TEXTS || s.bytes > INTERN_MAX_BYTES) {
      t.fail(`the table grew past its bounds: ${JSON.stringify(s)}`)
      break
    }
  }
  t.ok(sharedTexts().texts <= INTERN_MAX_TEXTS && sharedTexts().bytes <= INTERN_MAX_BYTES, `held ${JSON.stringify(sharedTexts())}`)
  t.equal(churn.get(`k${3 * INTERN_MAX_TEXTS - 1}`)?.findings[0]?.message.startsWith(`container "c${3 * INTERN_MAX_TEXTS - 1}"`), true, 'the newest entry still says its own text')
})
