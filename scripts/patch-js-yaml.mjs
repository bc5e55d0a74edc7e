// A step of `npm run build`: the built reader (dist/input/) reads YAML with a copy of js-yaml's ES
// module, dist/vendor/js-yaml.mjs, changed in two places, and its two importers in dist/ import that
// copy instead of the package. The sources (and the tests run from them) import the package as it is.
//
// The changes:
// 1. js-yaml's readFlowCollection, which the composer calls for every node to learn whether it is a
//    flow collection ([...] or {...}), made a dictionary object (Object.create(null)) before looking
//    at the node's first character, so every scalar and block collection read made one and dropped
//    it: a fifth of what `check` allocated on the bench's manifests. The copy makes it only for a
//    node that is a flow collection. The object is used only inside that branch.
// 2. captureSegment tested every piece of every scalar against js-yaml's pattern of non-printable
//    characters (control and C1 characters, U+FFFE/U+FFFF, lone surrogates). The copy first tests
//    the whole input once with a plain character class: when it holds nothing but tab, line feed,
//    carriage return and printable ASCII, no piece of it can match that pattern, and the pieces are
//    not tested again. Any other character (a C1 control, UTF-8 text) keeps the test per piece.
// Nothing read changes. Each text replaced is matched exactly and must occur once, so a js-yaml that
// changes it fails the build instead of shipping unpatched; the test test/dist/js-yaml-patch.test.ts
// reads the tests' YAML and JSON files, bench manifests, crafted flow forms and texts with every
// kind of non-printable character with both and compares the values and errors.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../', import.meta.url))
const require = createRequire(join(root, 'package.json'))
const pkgDir = dirname(require.resolve('js-yaml/package.json'))
const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'))
const source = join(pkgDir, 'dist', 'js-yaml.mjs')

const PATCHES = [
  {
    what: 'readFlowCollection no longer starts',
    before: `    const overridableKeys = /* @__PURE__ */ Object.create(null);
    let keyNode;
    let keyTag;
    let valueNode;
    let ch = state.input.charCodeAt(state.position);
    if (ch === 91) {`,
    after: `    let keyNode;
    let keyTag;
    let valueNode;
    let ch = state.input.charCodeAt(state.position);
    if (ch !== 91 && ch !== 123) return false;
    const overridableKeys = /* @__PURE__ */ Object.create(null);
    if (ch === 91) {`,
  },
  {
    what: 'loadDocuments no longer makes its state',
    before: `    const state = new State(input, options);
    const nullpos = input.indexOf("\\0");`,
    after: `    const state = new State(input, options);
    state.printableAscii = !/[^\\t\\n\\r\\x20-\\x7e]/.test(input);
    const nullpos = input.indexOf("\\0");`,
  },
  {
    what: 'captureSegment no longer tests for non-printable characters',
    before: `      } else if (PATTERN_NON_PRINTABLE.test(_result)) {`,
    after: `      } else if (state.printableAscii !== true && PATTERN_NON_PRINTABLE.test(_result)) {`,
  },
]

const fail = (m) => {
  process.stderr.write(`patch-js-yaml: ${m}\n`)
  process.exit(1)
}

let text = readFileSync(source, 'utf8').replace(/\r\n/g, '\n')
for (const p of PATCHES) {
  const at = text.indexOf(p.before)
  if (at < 0 || text.indexOf(p.before, at + 1) >= 0) fail(`js-yaml ${version}: ${p.what} as this build expects; update scripts/patch-js-yaml.mjs`)
  text = text.slice(0, at) + p.after + text.slice(at + p.before.length)
}
const out = join(root, 'dist', 'vendor')
mkdirSync(out, { recursive: true })
// The package's licence goes with the copy, at its head.
const licence = readFileSync(join(pkgDir, 'LICENSE'), 'utf8').replace(/\*\//g, '* /').trim()
writeFileSync(
  join(out, 'js-yaml.mjs'),
  `/*\njs-yaml ${version}, from its dist/js-yaml.mjs, with readFlowCollection's dictionary made only for\nflow collections and scalars not tested for non-printable characters when the input is printable\nASCII (pod-preflight's scripts/patch-js-yaml.mjs).\n\n${licence}\n*/\n` + text,
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
