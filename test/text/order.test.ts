import { spawnSync } from 'node:child_process'
import t from 'tap'
import { byCodeUnits, byPath, groupDigits } from '../../src/text/order.js'

t.test('byCodeUnits: the order of the code units, whatever the locale', async (t) => {
  t.same(['b', 'a', 'B', 'A', '_x', 'a.b', 'a[0]', 'a-b'].sort(byCodeUnits), ['A', 'B', '_x', 'a', 'a-b', 'a.b', 'a[0]', 'b'], 'upper case before lower, punctuation by code')
  t.equal(byCodeUnits('same', 'same'), 0)
  t.equal(byCodeUnits('', 'a'), -1, 'the empty string first')
  t.equal(byCodeUnits('ab', 'abc'), -1, 'a prefix first')
  t.equal(byCodeUnits('z', 'é'), -1, 'non-ASCII after ASCII, not folded to its base letter')
})

t.test('byPath: list indexes in number order, the rest by code units', async (t) => {
  const paths = ['spec.containers[10].image', 'spec.containers[2].image', 'spec.containers[1].image', 'spec.containers[1]', 'spec.initContainers[0]', 'metadata.name', 'spec.containers[02].image']
  t.same([...paths].sort(byPath), ['metadata.name', 'spec.containers[1]', 'spec.containers[1].image', 'spec.containers[2].image', 'spec.containers[02].image', 'spec.containers[10].image', 'spec.initContainers[0]'])
  t.equal(byPath('a[7]', 'a[7]'), 0)
  t.equal(byPath('a9', 'a10'), -1, 'by value, not by first digit')
  t.equal(byPath('a10', 'a9'), 1)
  t.equal(byPath('a007', 'a7'), 1, 'equal values: the longer run (leading zeros) after')
  t.equal(byPath('a', 'a1'), -1, 'a prefix first')
  t.equal(byPath('B', 'a'), -1, 'letters by code units')
  t.equal(byPath('9'.repeat(400), '9'.repeat(399) + '8'), 1, 'runs longer than any number compare digit by digit')
})

t.test('groupDigits: thousands grouped as en-US writes them', async (t) => {
  for (const n of [0, 7, 999, 1000, 1001, 12_345, 999_999, 1_000_000, 262_144, 1_572_864, -5, -1234, -1_000_000, Number.MAX_SAFE_INTEGER]) {
    t.equal(groupDigits(n), n.toLocaleString('en-US'), String(n))
  }
  t.equal(groupDigits(1.5), '1.5', 'a fraction as String writes it')
  t.equal(groupDigits(Number.NaN), 'NaN')
  t.equal(groupDigits(Infinity), 'Infinity')
})

t.test('the order of findings does not change with LANG or LC_ALL', async (t) => {
  // Sorting with the locale's collation gave a Swedish or Turkish runner another order than an
  // English one; the code-unit order is the same under every locale.
  const words = JSON.stringify(['z', 'Z', 'ä', 'a', 'I', 'ı', 'i', 'v', 'w'])
  const run = (locale: string) =>
    spawnSync(process.execPath, ['--import=tsx', '-e', `import('${new URL('../../src/text/order.ts', import.meta.url).href}').then((m) => console.log(JSON.stringify(${words}.sort(m.byCodeUnits))))`], {
      env: { ...process.env, LANG: locale, LC_ALL: locale },
      encoding: 'utf8',
    }).stdout
  const en = run('en_US.UTF-8')
  t.ok(en.length > 0, 'the child ran')
  t.equal(run('sv_SE.UTF-8'), en, 'Swedish')
  t.equal(run('tr_TR.UTF-8'), en, 'Turkish')
})
