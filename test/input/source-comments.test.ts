import t from 'tap'
import { parseDocuments } from '../../src/input/documents.js'
import { applySourceComments } from '../../src/input/source-comments.js'

const read = (text: string, map?: (p: string) => string) => applySourceComments(text, parseDocuments(text, '<stdin>'), map)

t.test('each document moves to the template its # Source comment names, lines counted from the comment', async (t) => {
  const text = [
    '---',
    '# Source: web/templates/a.yaml',
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: a',
    '---',
    '# Source: web/charts/db/templates/b.yaml',
    'apiVersion: v1',
    'kind: Secret',
    'metadata: {name: b}',
    '---',
    '# Source: web/templates/a.yaml',
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata: {name: a2}',
    '',
  ].join('\n')
  const r = read(text)
  t.same(r.documents.map((d) => d.source), [
    { file: 'web/templates/a.yaml', line: 1, column: 1 },
    { file: 'web/charts/db/templates/b.yaml', line: 1, column: 1 },
    { file: 'web/templates/a.yaml', line: 1, column: 1 },
  ])
  t.same(r.documents[0]?.locate(['metadata', 'name']), { file: 'web/templates/a.yaml', line: 4, column: 9 })
  t.same(read(text.replace(/\n/g, '\r\n')).documents.map((d) => d.source.file), ['web/templates/a.yaml', 'web/charts/db/templates/b.yaml', 'web/templates/a.yaml'], 'CRLF line ends too')
  t.same(read(text, (p) => `charts/${p}`).documents[1]?.source.file, 'charts/web/charts/db/templates/b.yaml', 'a chart rendered here maps helm\'s path')
})

t.test('a document after a separator without a comment stays where it is; so does text without comments', async (t) => {
  const text = '# Source: web/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n'
  t.same(read(text).documents.map((d) => `${d.source.file}:${d.source.line}`), ['web/templates/a.yaml:1', '<stdin>:6'])
  const plain = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n'
  t.same(read(plain).documents[0]?.source, { file: '<stdin>', line: 1, column: 1 })
})

t.test('only template paths as helm prints them are followed', async (t) => {
  for (const c of ['# Source: https://example.com/x.yaml', '# Source: upstream', '# Source: web/values.yaml', '# Source: web/templates/a b.yaml']) {
    const r = read(`${c}\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n`)
    t.equal(r.documents[0]?.source.file, '<stdin>', c)
  }
  t.equal(read('# Source: web/crds/crd.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n').documents[0]?.source.file, 'web/crds/crd.yaml', 'CRDs helm prints with --include-crds')
})

t.test('a parse error inside a template\'s output is reported at that template', async (t) => {
  const r = read('---\n# Source: web/templates/ok.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# Source: web/templates/bad.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x\n')
  t.equal(r.errors.length, 1)
  t.equal(r.errors[0]?.file, 'web/templates/bad.yaml')
  t.ok((r.errors[0]?.line ?? 0) >= 1 && (r.errors[0]?.line ?? 99) <= 5, `line ${r.errors[0]?.line} within the template's output`)
})
