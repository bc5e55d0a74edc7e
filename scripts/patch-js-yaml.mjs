// A step of `npm run build`: the built reader (dist/input/) reads YAML with a copy of js-yaml's ES
// module, dist/vendor/js-yaml.mjs, changed in one place, and its two importers in dist/ import that
// copy instead of the package. The sources (and the tests run from them) import the package as it is.
//
// The change: js-yaml's readFlowCollection, which the composer calls for every node to learn
// whether it is a flow collection ([...] or {...}), made a dictionary object (Object.create(null))
// before looking at the node's first character, so every scalar and block collection read made one
// and dropped it: a fifth of what `check` allocated on the bench's manifests. The copy makes it only
// for a node that is a flow collection. Nothing read changes: the object is used only inside
// that function's flow collection branch. The text replaced is matched exactly and must occur
// once, so a js-yaml that changes it fails the build instead of shipping unpatched; the test
// test/dist/js-yaml-patch.test.ts reads the tests' YAML and JSON files, bench manifests and
// crafted flow forms with both and compares the values and errors.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../', import.meta.url))
const require = createRequire(join(root, 'package.json'))
const pkgDir = dirname(require.resolve('js-yaml/package.json'))
const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'))
const source = join(pkgDir, 'dist', 'js-yaml.mjs')

const BEFORE = `    const overridableKeys = /* @__PURE__ */ Object.create(null);
    let keyNode;
    let keyTag;
    let valueNode;
    let ch = state.input.charCodeAt(state.position);
    if (ch === 91) {`
const AFTER = `    let keyNode;
    let keyTag;
    let valueNode;
    let ch = state.input.charCodeAt(state.position);
    if (ch !== 91 && ch !== 123) return false;
    const overridableKeys = /* @__PURE__ */ Object.create(null);
    if (ch === 91) {`

const fail = (m) => {
  process.stderr.write(`patch-js-yaml: ${m}\n`)
  process.exit(1)
}

const text = readFileSync(source, 'utf8').replace(/\r\n/g, '\n')
const at = text.indexOf(BEFORE)
if (at < 0 || text.indexOf(BEFORE, at + 1) >= 0) fail(`js-yaml ${version}: readFlowCollection no longer starts as this build expects; update scripts/patch-js-yaml.mjs`)
const out = join(root, 'dist', 'vendor')
mkdirSync(out, { recursive: true })
// The package's licence goes with the copy, at its head.
const licence = readFileSync(join(pkgDir, 'LICENSE'), 'utf8').replace(/\*\//g, '* /').trim()
writeFileSync(
  join(out, 'js-yaml.mjs'),
  `/*\njs-yaml ${version}, from its dist/js-yaml.mjs, with readFlowCollection's dictionary made only for\nflow collections (pod-preflight's scripts/patch-js-yaml.mjs).\n\n${licence}\n*/\n` +
    text.slice(0, at) + AFTER + text.slice(at + BEFORE.length),
)

// The importers: the one line importing the package becomes an import of the copy.
const IMPORT = "import jsyaml from 'js-yaml';"
const VENDORED = "import jsyaml from '../vendor/js-yaml.mjs';"
for (const file of ['input/documents.js', 'input/scalars.js']) {
  const path = join(root, 'dist', file)
  const js = readFileSync(path, 'utf8')
  if (js.includes(VENDORED)) continue // patched by an earlier run over the same tsc output
  if (js.split(IMPORT).length !== 2) fail(`dist/${file} does not import js-yaml as this build expects (${IMPORT})`)
  writeFileSync(path, js.replace(IMPORT, VENDORED))
}
