/**
 * Runs every rule on its fixtures. Rules are found from the files in src/rules (the meta-test
 * checks that the registry lists the same), so `RULE=id[,id] npx tap test/rules/fixtures.test.ts`
 * can run a few of them alone.
 */
import t from 'tap'
import { readdirSync } from 'node:fs'
import { isDocumentRule, type PodRule } from '../../src/engine/rule.js'
import { parsePath } from '../../src/input/field-path.js'
import { fixturesOf, fixtureSetup, runRule } from '../helpers/fixtures.js'

const srcDir = new URL('../../src/rules/', import.meta.url).pathname
const only = process.env['RULE']?.split(',').filter((s) => s !== '')
const ids = readdirSync(srcDir)
  .filter((f) => f.endsWith('.ts') && f !== 'index.ts' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3))
  .filter((id) => only === undefined || only.includes(id))
  .sort()

for (const id of ids) {
  const mod = (await import(`../../src/rules/${id}.js`)) as { rule: PodRule<unknown> }
  const rule = mod.rule
  const fixtures = fixturesOf(rule.id)
  t.test(rule.id, async (t) => {
    t.ok(fixtures.length > 0, 'has fixtures')
    for (const fx of fixtures) {
      t.test(fx.name, async (t) => {
        const setup = fixtureSetup(rule, fx)
        t.same(setup.stateErrors, [], 'the cluster state of the fixture is valid')
        const run = runRule(rule, fx.text, fx.header.params, setup.extra)
        t.same(run.parseErrors, [], 'the fixture parses')
        const errors = run.evaluations.flatMap((e) => e.problems.filter((p) => p.severity === 'error').map((p) => p.message))
        t.same(errors, [], 'the fixture is a valid manifest')
        t.ok(run.evaluations.some((e) => e.recognised), 'the fixture holds an object the rule judges')
        const findings = run.evaluations.flatMap((e) => e.findings).filter((f) => f.rule === rule.id)
        if (fx.kind === 'silent') {
          t.same(findings.map((f) => `${f.path}: ${f.message}`), [], 'no finding')
          return
        }
        t.ok(findings.length > 0, 'the rule fires')
        const paths = findings.map((f) => f.path)
        for (const p of fx.header.expect) t.ok(paths.includes(p), `a finding at ${p} (got ${paths.join(', ')})`)
        if (fx.header.count !== undefined) t.equal(findings.length, fx.header.count, 'finding count')
        if (fx.header.action !== undefined) for (const f of findings) t.equal(f.action, fx.header.action, `action of ${f.path}`)
        for (const m of fx.header.messages) t.ok(findings.some((f) => f.message.includes(m)), `a message contains "${m}"`)
        for (const f of findings) {
          t.ok(f.message.length > 20 && f.fix.length > 10, `message and fix say something (${f.path})`)
          // A document rule judges the whole object: its paths may start at any top-level field (rules, data, a misspelt metadata).
          if (isDocumentRule(rule)) t.ok(parsePath(f.path) !== undefined && f.path !== '', `full field path (${f.path})`)
          else t.ok(f.path.startsWith('spec.') || f.path.startsWith('metadata.'), `full field path (${f.path})`)
          t.ok(f.container === undefined || f.message.includes(f.container), `the message names the container (${f.path})`)
        }
      })
    }
  })
}
