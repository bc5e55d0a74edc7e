import t from 'tap'
import { ByteBoundedCache, stringBytes } from '../../src/engine/bounded-cache.js'
import { EvaluationCache, evaluationBytes } from '../../src/admission/verdict-cache.js'
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
