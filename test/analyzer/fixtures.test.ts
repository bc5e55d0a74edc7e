import t from 'tap'
import { EXPECTED, fixtureFiles, runFixture, shape } from './fixtures.js'

t.test('each fixture gives exactly the expected diagnoses', async (t) => {
  for (const file of fixtureFiles()) {
    const runs = runFixture(file)
    const expected = EXPECTED[file] ?? {}
    t.same(runs.map((r) => r.pod).sort(), Object.keys(expected).sort(), `${file}: the pods in it`)
    for (const run of runs) {
      t.same(run.diagnoses.map(shape), expected[run.pod], `${file}: ${run.pod}`)
    }
  }
})

t.test('every diagnosis is complete: a summary, evidence and next steps', async (t) => {
  for (const file of fixtureFiles()) {
    for (const run of runFixture(file)) {
      for (const d of run.diagnoses) {
        const where = `${file} ${run.pod} ${d.cause}`
        t.ok(d.summary.length > 20 && !d.summary.includes('\n'), `${where}: a one-line summary`)
        t.ok(d.evidence.length > 0, `${where}: evidence`)
        t.ok(d.next.length > 0, `${where}: next steps`)
        t.ok(d.next.some((n) => n.startsWith('kubectl ')), `${where}: at least one kubectl command`)
        for (const n of d.next.filter((x) => x.startsWith('kubectl '))) {
          t.notMatch(n, /undefined|\[object/, `${where}: ${n}`)
          if (/^kubectl (logs|describe pod|delete pod|debug|patch pod|top pod|port-forward)/.test(n)) t.match(n, / -n [a-z0-9-]+/, `${where}: the namespace is given: ${n}`)
        }
      }
    }
  }
})

t.test('the results do not depend on the time of the run', async (t) => {
  const first = JSON.stringify(fixtureFiles().map(runFixture))
  const second = JSON.stringify(fixtureFiles().map(runFixture))
  t.equal(first, second)
})
