/**
 * RecentAnswers: the small ring of last answers the rules of one evaluation share.
 */
import t from 'tap'
import { RecentAnswers, forgetRecentAnswers } from '../../src/engine/recent.js'

const key = (n: number): object => ({ n })

t.test('an answer is computed once per inputs, by identity, and the oldest goes when the ring is full', async (t) => {
  const ring = new RecentAnswers<object, string, undefined, string>(3)
  const calls: string[] = []
  const compute = (a: object, b: string, _c: undefined, x: string): string => {
    calls.push(`${(a as { n: number }).n}${b}`)
    return `${x}:${(a as { n: number }).n}${b}`
  }
  const [k1, k2, k3, k4] = [key(1), key(2), key(3), key(4)]
  t.equal(ring.get(k1, 'a', undefined, 'x', compute), 'x:1a')
  t.equal(ring.get(k1, 'a', undefined, 'other', compute), 'x:1a', 'a hit: x is not part of the key')
  t.equal(ring.get(k1, 'b', undefined, 'x', compute), 'x:1b', 'another b is another key')
  t.equal(ring.get(key(1), 'a', undefined, 'x', compute), 'x:1a', 'an equal but other object is another key')
  t.same(calls, ['1a', '1b', '1a'])
  // Full (three entries): the next miss replaces the oldest, k1/'a'.
  ring.get(k2, 'a', undefined, 'x', compute)
  ring.get(k1, 'b', undefined, 'x', compute)
  t.same(calls, ['1a', '1b', '1a', '2a'], 'k1/b is still kept')
  ring.get(k1, 'a', undefined, 'x', compute)
  t.same(calls.slice(4), ['1a'], 'k1/a was replaced and is computed again')
  ring.get(k3, 'a', undefined, 'x', compute)
  ring.get(k4, 'a', undefined, 'x', compute)
  t.equal(calls.length, 7)
})

t.test('forgetRecentAnswers empties the ring: nothing is answered from before', async (t) => {
  const ring = new RecentAnswers<object, undefined, undefined, number>(4)
  let n = 0
  const compute = (): number => ++n
  const k = key(1)
  t.equal(ring.get(k, undefined, undefined, undefined, compute), 1)
  t.equal(ring.get(k, undefined, undefined, undefined, compute), 1)
  forgetRecentAnswers()
  t.equal(ring.get(k, undefined, undefined, undefined, compute), 2, 'computed again after the forget')
  // undefined inputs are never taken for an empty slot
  const empty = new RecentAnswers<undefined, undefined, undefined, number>(2)
  t.equal(empty.get(undefined, undefined, undefined, undefined, compute), 3)
  t.equal(empty.get(undefined, undefined, undefined, undefined, compute), 3)
  forgetRecentAnswers()
  t.equal(empty.get(undefined, undefined, undefined, undefined, compute), 4)
})

t.test('a compute that asks the same ring for other inputs keeps both answers', async (t) => {
  const ring = new RecentAnswers<object, undefined, undefined, string>(4)
  const inner = key(2)
  const outer = key(1)
  const compute = (a: object): string => (a === outer ? `outer+${ring.get(inner, undefined, undefined, undefined, compute)}` : 'inner')
  t.equal(ring.get(outer, undefined, undefined, undefined, compute), 'outer+inner')
  let again = 0
  t.equal(
    ring.get(inner, undefined, undefined, undefined, () => String(++again)),
    'inner',
    'the inner answer is kept',
  )
  t.equal(
    ring.get(outer, undefined, undefined, undefined, () => String(++again)),
    'outer+inner',
    'and the outer one',
  )
  t.equal(again, 0)
})
