import t from 'tap'
import { mkdtempSync, writeFileSync, mkdirSync, symlinkSync, linkSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { Readable } from 'node:stream'
import { readInputs } from '../../src/input/documents.js'
import { WalkMemory, walkManifestDirectory } from '../../src/input/walk.js'

const configMap = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\n`
const noStdin = (): Readable => Readable.from([''])
const names = (docs: { value: unknown }[]): string[] =>
  docs.map((d) => ((d.value as { metadata: { name: string } }).metadata.name)).sort()

/**
 * A tree with every kind of link that used to make the walk read a file many times or never
 * end: links to the directory itself and to ancestors under manifest names, two directories
 * linking to each other, a link to a file beside it, a hard link, a link that points to itself.
 */
function loopyTree(): string {
  const root = mkdtempSync(join(tmpdir(), 'ppf-walk-'))
  const dir = join(root, 'manifests')
  mkdirSync(join(dir, 'sub', 'deeper'), { recursive: true })
  mkdirSync(join(dir, 'left'))
  mkdirSync(join(dir, 'right'))
  mkdirSync(join(root, 'shared'))
  writeFileSync(join(dir, 'a.yaml'), configMap('a'))
  writeFileSync(join(dir, 'sub', 'b.yml'), configMap('b'))
  writeFileSync(join(dir, 'sub', 'deeper', 'c.json'), JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }))
  writeFileSync(join(dir, 'left', 'l.yaml'), configMap('l'))
  writeFileSync(join(dir, 'right', 'r.yaml'), configMap('r'))
  writeFileSync(join(root, 'shared', 's.yaml'), configMap('s'))
  symlinkSync('.', join(dir, 'loop.yaml')) // the directory itself, under a manifest name
  symlinkSync('..', join(dir, 'sub', 'up.yaml'))
  symlinkSync('../..', join(dir, 'sub', 'deeper', 'top'))
  symlinkSync('../right', join(dir, 'left', 'to-right'))
  symlinkSync('../left', join(dir, 'right', 'to-left'))
  symlinkSync('a.yaml', join(dir, 'alias.yaml'))
  symlinkSync('../../a.yaml', join(dir, 'sub', 'deeper', 'alias-a.yaml'))
  linkSync(join(dir, 'a.yaml'), join(dir, 'hard.yaml'))
  symlinkSync('../shared', join(dir, 'shared')) // a directory outside, reached only by a link
  return dir
}

t.test('symbolic link loops end and each real file is read once', async (t) => {
  const dir = loopyTree()
  symlinkSync('self.yaml', join(dir, 'self.yaml'))
  symlinkSync('nowhere.yaml', join(dir, 'broken.yaml'))
  const r = await readInputs(['.'], { stdin: noStdin(), cwd: dir })
  t.same(names(r.documents), ['a', 'b', 'c', 'l', 'r', 's'], 'every real manifest once, none twice')
  const errors = r.errors.map((e) => `${e.file}: ${e.message}`).sort()
  t.same(errors, ['broken.yaml: broken symbolic link', 'self.yaml: symbolic link loop'], 'links that lead nowhere are named')
})

t.test('the walk lists each real directory once, in name order, through links', async (t) => {
  const dir = loopyTree()
  const { files, problems } = await walkManifestDirectory(dir, new WalkMemory())
  t.same(problems, [])
  t.same(
    files.map((f) => relative(dir, f.path)),
    ['a.yaml', 'left/l.yaml', 'left/to-right/r.yaml', 'shared/s.yaml', 'sub/b.yml', 'sub/deeper/c.json'],
    'the first name under which each file is reached, depth first by name',
  )
})

t.test('a file named twice, or named and inside a named directory, is read once', async (t) => {
  const dir = loopyTree()
  const r = await readInputs(['a.yaml', '.', 'alias.yaml', 'sub/b.yml', 'a.yaml'], { stdin: noStdin(), cwd: dir })
  t.same(names(r.documents), ['a', 'b', 'c', 'l', 'r', 's'])
  t.equal(r.documents.find((d) => names([d])[0] === 'a')?.source.file, 'a.yaml', 'reported under the name it was first given')
  t.same(r.errors, [])
})

t.test('a loop named on the command line ends too', async (t) => {
  const dir = loopyTree()
  const r = await readInputs(['loop.yaml', 'sub/up.yaml'], { stdin: noStdin(), cwd: dir })
  t.same(names(r.documents), ['a', 'b', 'c', 'l', 'r', 's'])
  t.same(r.errors, [])
})

t.test('near misses: other files and special files in a directory are not read', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ppf-walk-'))
  writeFileSync(join(dir, 'a.yaml'), configMap('a'))
  writeFileSync(join(dir, 'notes.txt'), 'not: a manifest\n')
  writeFileSync(join(dir, '.hidden.yaml'), configMap('hidden'))
  symlinkSync('notes.txt', join(dir, 'notes-link.txt'))
  symlinkSync('gone', join(dir, 'gone-link')) // a broken link without a manifest name: not ours to read
  execFileSync('mkfifo', [join(dir, 'pipe.yaml')]) // opening it would block the reader for good
  const r = await readInputs(['.'], { stdin: noStdin(), cwd: dir })
  t.same(names(r.documents), ['a'])
  t.same(r.errors, [])
})

