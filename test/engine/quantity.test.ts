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
