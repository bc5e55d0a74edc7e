/**
 * The built reader reads YAML with dist/vendor/js-yaml.mjs, js-yaml's ES module changed by
 * scripts/patch-js-yaml.mjs in one place (readFlowCollection makes its dictionary only for a flow
 * collection). The change must read exactly what the package reads: every YAML and JSON file of
 * the tests, the bench's manifests, and texts made to cross every flow and block form, compared
 * value for value (or error message for error message) between the copy and the package, with
 * js-yaml's default schema and with the schema `check` reads with.
 */
import t from 'tap'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { pathToFileURL } from 'node:url'
import packaged from 'js-yaml'
import { root } from './helpers.js'
import { manifests } from '../../bench/manifests.js'

const vendorFile = join(root, 'dist/vendor/js-yaml.mjs')

t.before(() => {
  if (!existsSync(vendorFile)) throw new Error('dist/ is not built: npm run build first')
})

type JsYaml = typeof packaged

function read(y: JsYaml, text: string, schema: unknown): unknown {
  try {
    return { values: y.loadAll(text, undefined, { schema: schema as never }) }
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) }
  }
}

function files(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) files(p, out)
    else if (/\.(ya?ml|json)$/.test(e.name)) out.push(p)
  }
  return out
}

/** Flow and block forms, nested and mixed, valid and not: what the patched function is reached by. */
function crafted(): string[] {
  const forms = ['[]', '{}', '[a, b]', '{a: 1, b: [x, {y: z}]}', '[{a: 1}, [2, [3]]]', '{ "q": "v", \'s\': t }', '[a: 1]', '{a, b}', '[,]', '{a: 1', '[a, b', 'plain', '"quoted"', "'single'", '|\n  block', '- x\n- y', 'k: v', '{<<: {a: 1}, b: 2}', '{a: 1, a: 2}']
  const out: string[] = []
  for (const f of forms) {
    out.push(f, `key: ${f}`, `- ${f}`, `top:\n  nested: ${f}\n  other: [${f.includes('\n') ? 'x' : f}]`)
  }
  out.push(forms.filter((f) => !f.includes('\n')).map((f) => `k: ${f}`).join('\n---\n'))
  return out
}

t.test('the built reader imports the copy, and the copy reads what the package reads', async (t) => {
  for (const f of ['input/documents.js', 'input/scalars.js']) {
    t.match(readFileSync(join(root, 'dist', f), 'utf8'), "from '../vendor/js-yaml.mjs'", `dist/${f} reads with the copy`)
  }
  const vendored = ((await import(pathToFileURL(vendorFile).href)) as { default: JsYaml }).default
  const { JS_YAML_SCHEMA } = (await import(pathToFileURL(join(root, 'dist/input/scalars.js')).href)) as typeof import('../../src/input/scalars.js')
  const { JS_YAML_SCHEMA: packagedSchema } = await import('../../src/input/scalars.js')

  const texts: Array<[string, string]> = [
    ...files(join(root, 'test')).map((p): [string, string] => [relative(root, p), readFileSync(p, 'utf8')]),
    ['bench manifests', manifests(400)],
    ...crafted().map((s, i): [string, string] => [`crafted ${i}: ${JSON.stringify(s).slice(0, 40)}`, s]),
  ]
  t.ok(texts.length > 400, `${texts.length} texts`)
  const outcomes: { error?: string }[] = []
  for (const [name, text] of texts) {
    const copy = read(vendored, text, vendored.DEFAULT_SCHEMA)
    outcomes.push(copy as { error?: string })
    t.strictSame(copy, read(packaged, text, packaged.DEFAULT_SCHEMA), `${name}, js-yaml's default schema`)
    t.strictSame(read(vendored, text, JS_YAML_SCHEMA), read(packaged, text, packagedSchema), `${name}, the schema check reads with`)
  }
  // The texts do reach both branches: some read, some are refused.
  t.ok(outcomes.some((o) => o.error !== undefined) && outcomes.some((o) => o.error === undefined), 'errors and values both compared')
})
