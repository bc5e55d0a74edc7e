/**
 * The rule reference (docs/rules/) is what `npm run docs` generates from the rules and their
 * fixtures; `rules ID` prints the same examples; findings link to the pages.
 */
import t from 'tap'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { parseAllDocuments } from 'yaml'
import { RULES } from '../../src/rules/index.js'
import { RULE_EXAMPLES } from '../../src/rules/_examples.generated.js'
import { REPOSITORY_URL, ruleDocUrl } from '../../src/rules/_doc-url.js'
import { main } from '../../src/cli/main.js'
import { memoryIO } from '../../src/cli/io.js'
import { ruleDocTree } from '../../scripts/rule-docs-tree.js'
import { fixturesOf } from '../helpers/fixtures.js'

const ROOT = new URL('../../', import.meta.url).pathname
const examplesDir = new URL('../../examples/', import.meta.url).pathname

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIO('', {}, examplesDir)
  const code = await main(args, io)
  return { code, out: io.out(), err: io.err() }
}

t.test('the files on disk are the generated ones (npm run docs)', async (t) => {
  const files = ruleDocTree()
  const docs = files.filter((f) => f.path.startsWith('docs/rules/')).map((f) => f.path.slice('docs/rules/'.length))
  t.same(readdirSync(`${ROOT}docs/rules`).sort(), docs.sort(), 'no page missing, none left over')
  t.equal(docs.length, RULES.length + 1, 'a page per rule and the index')
  for (const f of files) {
    const path = `${ROOT}${f.path}`
    t.equal(existsSync(path) ? readFileSync(path, 'utf8') : '', f.text, `${f.path} is fresh; run npm run docs`)
  }
})

t.test('every page has what a reader needs, and its examples are the rule\'s fixtures', async (t) => {
  const index = readFileSync(`${ROOT}docs/rules/README.md`, 'utf8')
  for (const rule of RULES) {
    const page = readFileSync(`${ROOT}docs/rules/${rule.id}.md`, 'utf8')
    t.ok(page.startsWith(`# \`${rule.id}\`\n`), `${rule.id}: titled with its id`)
    t.ok(index.includes(`[\`${rule.id}\`](${rule.id}.md)`), `${rule.id}: linked from the index`)
    for (const h of ['## What it detects', '## What happens at run time', '## Fix', '## Parameters', '## Example that fails', '## Example that passes']) {
      t.ok(page.includes(`\n${h}\n`), `${rule.id}: ${h}`)
    }
    t.ok(page.includes(rule.docs.fix), `${rule.id}: the fix`)
    for (const name of Object.keys(rule.params.properties)) t.ok(page.includes(`- \`${name}\` (`), `${rule.id}: parameter ${name}`)
    const ex = RULE_EXAMPLES[rule.id]
    if (ex === undefined) {
      t.fail(`${rule.id}: no examples`)
      continue
    }
    const fire = fixturesOf(rule.id).find((f) => f.name === ex.fire.file)
    const silent = fixturesOf(rule.id).find((f) => f.name === ex.silent.file)
    t.equal(fire?.kind, 'fire', `${rule.id}: the failing example is a fixture that must fire`)
    t.equal(silent?.kind, 'silent', `${rule.id}: the passing example is a fixture that must stay silent`)
    for (const e of [ex.fire, ex.silent]) {
      t.notMatch(e.yaml, /^#\s*(expect|count|message|action|params|context|cluster):/m, `${rule.id}: test directives dropped`)
      t.same(parseAllDocuments(e.yaml).flatMap((d) => d.errors.map((x) => x.message)), [], `${rule.id}: ${e.file} is valid YAML`)
      t.ok(page.includes(e.yaml.trimEnd()), `${rule.id}: ${e.file} is on the page`)
    }
  }
})

t.test('rules ID prints the same examples and the link to the page', async (t) => {
  const r = await cli(['rules', 'memory-quantity-suspicious'])
  t.equal(r.code, 0, r.err)
  const ex = RULE_EXAMPLES['memory-quantity-suspicious']!
  const indented = (s: string): string => s.trimEnd().split('\n').map((l) => (l === '' ? '' : `    ${l}`)).join('\n')
  t.ok(r.out.includes('Example that fails'), 'a failing example')
  t.ok(r.out.includes(indented(ex.fire.yaml)), 'the failing example of the page')
  t.ok(r.out.includes(indented(ex.silent.yaml)), 'the passing example of the page')
  t.ok(r.out.includes(`Reference: ${ruleDocUrl('memory-quantity-suspicious')}\n`), 'the link')
  const j = await cli(['rules', 'memory-quantity-suspicious', '-o', 'json'])
  const rule = (JSON.parse(j.out) as { rules: Array<{ doc: string; examples: { fire: { yaml: string } } }> }).rules[0]!
  t.equal(rule.doc, ruleDocUrl('memory-quantity-suspicious'))
  t.equal(rule.examples.fire.yaml, ex.fire.yaml)
})

t.test('rules with a misspelt id suggests the right one', async (t) => {
  const r = await cli(['rules', 'memory-quantity-suspicous'])
  t.equal(r.code, 2)
  t.match(r.err, /unknown rule "memory-quantity-suspicous"; did you mean memory-quantity-suspicious\?/)
  t.notMatch(r.err, /\n\s+at /, 'no stack trace')
})

t.test('findings link to the page: SARIF helpUri and the JSON doc field', async (t) => {
  const s = await cli(['check', '-o', 'sarif', 'broken-pod.yaml'])
  const sarif = JSON.parse(s.out) as { runs: Array<{ tool: { driver: { rules: Array<{ id: string; helpUri: string }> } } }> }
  const rules = sarif.runs[0]!.tool.driver.rules
  t.ok(rules.length > 0)
  for (const r of rules) t.equal(r.helpUri, ruleDocUrl(r.id), `${r.id}: helpUri`)
  const j = await cli(['check', '-o', 'json', 'broken-pod.yaml'])
  const findings = (JSON.parse(j.out) as { findings: Array<{ rule: string; doc: string }> }).findings
  t.ok(findings.length > 0)
  for (const f of findings) t.equal(f.doc, ruleDocUrl(f.rule), `${f.rule}: doc`)
  t.ok(ruleDocUrl('command-missing').startsWith(`${REPOSITORY_URL}/`))
})

t.test('the link base is the repository of package.json', async (t) => {
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { repository: { url: string } }
  t.equal(pkg.repository.url, `git+${REPOSITORY_URL}.git`)
})
