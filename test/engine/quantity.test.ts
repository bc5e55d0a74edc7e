import t from 'tap'
import { Quantity, formatBytes, formatCpu } from '../../src/engine/quantity.js'

const q = (s: string | number): Quantity => {
  const v = Quantity.parse(s)
  if (v === undefined) throw new Error(`did not parse ${String(s)}`)
  return v
}

t.test('the whole grammar parses exactly', async (t) => {
  const cases: Array<[string | number, bigint, bigint]> = [
    ['1', 1n, 1n],
    ['0', 0n, 1n],
    ['500m', 1n, 2n],
    ['0.5', 1n, 2n],
    ['.5', 1n, 2n],
    ['5.', 5n, 1n],
    ['1Ki', 1024n, 1n],
    ['1Mi', 1048576n, 1n],
    ['1Gi', 1073741824n, 1n],
    ['1Ti', 1n << 40n, 1n],
    ['1Pi', 1n << 50n, 1n],
    ['1Ei', 1n << 60n, 1n],
    ['1k', 1000n, 1n],
    ['1M', 1000000n, 1n],
    ['1G', 1000000000n, 1n],
    ['1T', 10n ** 12n, 1n],
    ['1P', 10n ** 15n, 1n],
    ['1E', 10n ** 18n, 1n],
    ['1e3', 1000n, 1n],
    ['1E3', 1000n, 1n],
    ['1e-3', 1n, 1000n],
    ['1.5e+2', 150n, 1n],
    ['+2', 2n, 1n],
    ['-2', -2n, 1n],
    ['1.5Gi', 1610612736n, 1n],
    ['512m', 64n, 125n],
    [0.1, 1n, 10n],
    [1024, 1024n, 1n],
  ]
  for (const [input, n, d] of cases) {
    const v = q(input)
    t.same([v.n, v.d], [n, d], `${String(input)}`)
  }
})

t.test('no float surprises', async (t) => {
  t.ok(q('0.1').add(q('0.2')).eq(q('0.3')), '0.1 + 0.2 = 0.3')
  t.ok(q('2Gi').eq(q('2048Mi')), '2Gi = 2048Mi')
  t.ok(q('2G').lt(q('2Gi')), '2G < 2Gi')
  t.ok(q('1e3').eq(q('1k')), '1e3 = 1k')
  t.ok(q('999999999999999999999').lt(q('1000000000000000000000')), 'beyond 2^53 stays exact')
  t.equal(q('1Gi').mul(75, 100).cmp(q('768Mi')), 0, '75% of 1Gi is 768Mi')
})

t.test('invalid quantities are rejected', async (t) => {
  for (const bad of ['', ' 1', '1 ', '1 Gi', 'Gi', '1gi', '1KI', '1.2.3', '1e', 'e3', '1kb', '1Mib', '0x10', 'abc', '1e1000', '--1', '1m5']) {
    t.equal(Quantity.parse(bad), undefined, JSON.stringify(bad))
  }
  t.equal(Quantity.parse(null), undefined)
  t.equal(Quantity.parse(Infinity), undefined)
  t.equal(Quantity.parse({}), undefined)
})

t.test('the suffix as written is kept', async (t) => {
  t.equal(q('512m').suffix, 'm')
  t.equal(q('512M').suffix, 'M')
  t.equal(q('2Gi').suffix, 'Gi')
  t.equal(q('128').suffix, '')
  t.equal(q('1e3').suffix, 'e3')
})

t.test('formatting for messages', async (t) => {
  t.equal(formatBytes(q('2Gi')), '2Gi')
  t.equal(formatBytes(q('1536Mi')), '1.5Gi')
  t.equal(formatBytes(q('100Ki')), '100Ki')
  t.equal(formatBytes(q('512')), '512')
  t.equal(formatCpu(q('500m')), '500m')
  t.equal(formatCpu(q('2')), '2')
  t.equal(formatCpu(q('1.5')), '1500m')
})

t.test('a megabyte of digits parses, and the memo does not keep it for good', async (t) => {
  const long = `${'1'.repeat(1_000_000)}Mi`
  const a = Quantity.parse(long)
  t.ok(a !== undefined, 'parsed')
  t.ok(a !== undefined && a.cmp(q('1Ei')) > 0, 'and larger than anything a cluster holds')
  // Identity, not deep equality: a failure must not print a megabyte.
  t.ok(Quantity.parse(long) === a, 'the same review reads it from the memo')
  // 20 more such texts pass through a memo bounded in bytes; the first goes.
  for (let i = 0; i < 20; i++) Quantity.parse(`${'2'.repeat(1_000_000)}${i}Mi`)
  t.ok(Quantity.parse(long) !== a, 'evicted: parsed anew')
  t.equal(Quantity.parse('256Mi')?.text, '256Mi', 'short texts still parse')
})

t.test('long digit strings: leading zeros dropped, the rest bounded and rounded up', async (t) => {
  t.equal(q(`${'0'.repeat(100_000)}1Gi`).cmp(q('1Gi')), 0, 'leading zeros do not count')
  t.equal(q(`0.${'0'.repeat(39)}1`).cmp(q(`1e-40`)), 0, 'forty fraction digits are exact')
  const cut = q(`0.${'3'.repeat(100)}`)
  t.ok(cut.cmp(q(`0.${'3'.repeat(40)}`)) > 0, 'a longer fraction rounds up, never down')
  t.ok(cut.cmp(q(`0.${'3'.repeat(39)}4`)) <= 0, 'by one unit in the fortieth place at most')
  t.equal(q(`9.${'9'.repeat(60)}`).cmp(q('10')), 0, 'rounding carries into the whole part')
  t.equal(q(`${'1'.repeat(120)}`).text, '1'.repeat(120))
  t.equal(q(`${'1'.repeat(120)}`).cmp(q(`${'1'.repeat(120)}.0`)), 0)
  t.ok(q(`${'1'.repeat(121)}`).cmp(q(`${'1'.repeat(121)}`.slice(0, 120))) > 0, 'beyond 120 digits it stays larger')
  t.ok(q(`-${'5'.repeat(200_000)}`).cmp(q('-1Ei')) < 0, 'and a negative one smaller')
})
