/**
 * The built reader reads YAML with dist/vendor/js-yaml.mjs, js-yaml's ES module changed by
 * scripts/patch-js-yaml.mjs in two places (readFlowCollection makes its dictionary only for a flow
 * collection; scalars are not tested for non-printable characters when the whole input is
 * printable ASCII). The changes must read exactly what the package reads: every YAML and JSON file of
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
  // Block mappings with merge keys (the dictionary of merged keys that readFlowCollection's has a
  // twin of in readBlockMapping, which stays as released: making it lazily measured no faster): merged keys
  // overridden after the merge and before it, a list of merges, merges in a row, a key repeated
  // after a merge, a merge of something that is not a mapping, and mappings without any merge.
  const base = 'base: &b {p: 1, q: 2}\nlist: &l [1]\n'
  for (const m of [
    'm:\n  <<: *b\n  q: 3\n  r: 4',
    'm:\n  q: 3\n  <<: *b',
    'm:\n  <<: [*b, {s: 5}]\n  p: 0',
    'm:\n  <<: *b\n  <<: {t: 6}\n  t: 7',
    'm:\n  <<: *b\n  q: 3\n  q: 4',
    'm:\n  r: 1\n  r: 2',
    'm:\n  <<: *l',
    'm:\n  <<: {a: 1}\n  a: 2\n  n:\n    <<: {a: 3}\n    a: 4\n  a2: 5',
    'm:\n  ? <<\n  : {x: 1}\n  x: 2',
    'm:\n  "<<": {x: 1}\n  x: 2',
    'm:\n  !!merge <<: {x: 1}\n  x: 2',
    'm:\n  __proto__: {x: 1}\n  <<: {__proto__: 2}',
    'm:\n  <<: {__proto__: 2}\n  __proto__: 3',
  ]) {
    out.push(base + m)
  }
  // Characters js-yaml refuses (controls, C1 controls but NEL, U+FFFE, U+FFFF, lone surrogates)
  // and ones it reads (NEL, DEL's neighbours, a surrogate pair, text beyond ASCII), in plain,
  // quoted and block scalars, keys, comments and between documents: the copy skips its test
  // per scalar only when the whole input is printable ASCII.
  const chars = ['\x00', '\x07', '\x0b', '\x0c', '\x1f', '\x7f', '\x84', '\x85', '\x86', '\x9f', '\xa0', '\ufffe', '\uffff', '\ud800', '\udc00', '\ud83d\ude00', 'é', '中文', '\t', '\r']
  for (const c of chars) {
    out.push(`k: a${c}b`, `k: "a${c}b"`, `k: 'a${c}b'`, `${c}k: v`, `k: |\n  a${c}b`, `# a${c}\nk: v`, `- x\n- y${c}`, `a: 1\n---\nb: ${c}2`, `k: [a${c}, b]`, `{k${c}: v}`)
  }
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
