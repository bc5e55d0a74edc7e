import t from 'tap'
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { parseDocuments, readInputs } from '../../src/input/documents.js'
import { formatPath, parsePath } from '../../src/input/field-path.js'

t.test('multi-document YAML with lines and lists expanded', async (t) => {
  const text = `apiVersion: v1
kind: Pod
metadata: { name: a }
---
# comment only
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: { name: b }
  - apiVersion: apps/v1
    kind: Deployment
    metadata: { name: c }
    spec:
      template:
        spec:
          containers:
            - name: x
              image: nginx:1.27
`
  const r = parseDocuments(text, 'in.yaml')
  t.same(r.errors, [])
  t.same(r.documents.map((d) => (d.value as { metadata: { name: string } }).metadata.name), ['a', 'b', 'c'])
  t.equal(r.documents[0]?.source.line, 1)
  t.equal(r.documents[1]?.source.line, 10)
  const c = r.documents[2]
  t.equal(c?.locate(['spec', 'template', 'spec', 'containers', 0, 'image']).line, 21, 'a field inside a List item')
  t.equal(c?.locate(['spec', 'template', 'spec', 'containers', 0, 'resources', 'limits']).line, 20, 'an absent field points at its parent')
})

t.test('a syntax error names the line, and the other documents are still read', async (t) => {
  const r = parseDocuments('a: 1\n---\nb: [1, 2\n---\nc: 3\n', 'x.yaml')
  t.equal(r.documents.length, 2)
  t.equal(r.errors.length, 1)
  t.equal(r.errors[0]?.file, 'x.yaml')
  t.ok((r.errors[0]?.line ?? 0) >= 3)
})

t.test('a YAML bomb is refused, not expanded', async (t) => {
  const bomb = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
  for (let i = 1; i < 10; i++) {
    const prev = String.fromCharCode(96 + i)
    const cur = String.fromCharCode(97 + i)
    bomb.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`)
  }
  const r = parseDocuments(bomb.join('\n'), 'bomb.yaml')
  t.equal(r.documents.length, 0)
  t.match(r.errors[0]?.message ?? '', /alias/)
})

t.test('deeply nested input is an error, not a crash', async (t) => {
  const deep = `${'['.repeat(100000)}${']'.repeat(100000)}`
  const r = parseDocuments(deep, 'deep.json')
  t.equal(r.documents.length, 0)
  t.ok(r.errors.length > 0)
})

t.test('binary input is refused', async (t) => {
  const r = parseDocuments('\u0000\u0001\u0002ELF', 'bin')
  t.match(r.errors[0]?.message ?? '', /not a text file/)
})

t.test('files, directories, stdin and size limits', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ppf-docs-'))
  mkdirSync(join(dir, 'sub'))
  writeFileSync(join(dir, 'a.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n')
  writeFileSync(join(dir, 'sub', 'b.json'), '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}}')
  writeFileSync(join(dir, 'sub', 'notes.txt'), 'ignored: not a manifest extension')
  writeFileSync(join(dir, 'big.yaml'), `x: "${'a'.repeat(2 * 1024 * 1024)}"\n`)
  writeFileSync(join(dir, 'bin.yaml'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x00, 0x01]))
  const r = await readInputs(['.', '-', 'missing.yaml'], { stdin: Readable.from(['kind: Pod\napiVersion: v1\n']), cwd: dir }, { maxFileBytes: 1024 * 1024 })
  const names = r.documents.map((d) => d.source.file).sort()
  t.same(names, ['<stdin>', 'a.yaml', 'sub/b.json'])
  const errs = r.errors.map((e) => `${e.file}: ${e.message}`).sort()
  t.equal(errs.length, 3)
  t.match(errs[0] ?? '', /big\.yaml: file is 2\.0 MiB, above the 1\.0 MiB limit/)
  t.match(errs[1] ?? '', /bin\.yaml: not a text file/)
  t.match(errs[2] ?? '', /missing\.yaml: no such file or directory/)
})

t.test('field paths round-trip', async (t) => {
  const p = ['spec', 'template', 'spec', 'containers', 1, 'resources', 'limits', 'memory']
  t.equal(formatPath(p), 'spec.template.spec.containers[1].resources.limits.memory')
  t.same(parsePath(formatPath(p)), p)
  const odd = ['metadata', 'annotations', 'pod-preflight/skip']
  t.equal(formatPath(odd), 'metadata.annotations["pod-preflight/skip"]')
  t.same(parsePath(formatPath(odd)), odd)
  t.equal(parsePath('spec..x'), undefined)
})
