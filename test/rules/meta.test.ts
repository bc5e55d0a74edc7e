import t from 'tap'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { RULES } from '../../src/rules/index.js'
import { fixturesOf } from '../helpers/fixtures.js'
import { loadDefaultPolicy, DEFAULT_POLICY_FILE } from '../../src/policy/policy.js'
import { parse } from 'yaml'

const srcDir = new URL('../../src/rules/', import.meta.url).pathname

t.test('every rule file is registered, and every registered rule has its own file', async (t) => {
  const files = readdirSync(srcDir).filter((f) => f.endsWith('.ts') && f !== 'index.ts' && !f.startsWith('_')).map((f) => f.slice(0, -3)).sort()
  t.same(files, RULES.map((r) => r.id).sort())
})

for (const rule of RULES) {
  t.test(rule.id, async (t) => {
    t.match(rule.id, /^[a-z0-9]+(-[a-z0-9]+)*$/, 'id is kebab-case')
    t.ok(existsSync(`${srcDir}${rule.id}.ts`), 'id is its file name')
    const src = readFileSync(`${srcDir}${rule.id}.ts`, 'utf8')
    t.ok(src.includes(`id: '${rule.id}'`), 'the file declares this id')
    for (const k of ['summary', 'description', 'failure', 'fix'] as const) t.ok(rule.docs[k].trim().length > 10, `docs.${k}`)
    t.ok(rule.title.length > 5, 'title')
    t.ok(rule.scope.length > 0, 'scope')
    for (const [name, prop] of Object.entries(rule.params.properties)) {
      t.ok('default' in prop, `param ${name} has a default`)
      t.ok(typeof prop['description'] === 'string', `param ${name} has a description`)
    }
    const fixtures = fixturesOf(rule.id)
    t.ok(fixtures.some((f) => f.kind === 'fire'), 'has fixtures that must fire')
    t.ok(fixtures.some((f) => f.kind === 'silent'), 'has fixtures that must stay silent')
  })
}

t.test('the default policy names every rule with its default action', async (t) => {
  const policy = await loadDefaultPolicy(RULES)
  const raw = parse(readFileSync(DEFAULT_POLICY_FILE, 'utf8')) as { rules: Record<string, { action: string } | string> }
  for (const rule of RULES) {
    const entry = raw.rules[rule.id]
    t.ok(entry !== undefined, `${rule.id} is in policies/default.yaml`)
    const action = typeof entry === 'string' ? entry : entry?.action
    t.equal(action, rule.defaultAction, `${rule.id}: default policy action matches the rule's default`)
    t.ok(policy.rules.has(rule.id))
  }
})
