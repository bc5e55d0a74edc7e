/**
 * `check -o github`: workflow commands read back the way the runner reads them (a line that
 * starts with `::`, properties up to the next `::`, the escapes undone), so what a pull request
 * would show is what is asserted.
 */
import t from 'tap'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../src/cli/main.js'
import { memoryIO } from '../../src/cli/io.js'
import { escapeData, escapeProperty } from '../../src/cli/format/github.js'

const examples = new URL('../../examples/', import.meta.url).pathname

export interface Annotation {
  kind: string
  props: Record<string, string>
  message: string
}

/** The runner's reading: the escapes undone in the order the toolkit documents (%25 last). */
function unescape(s: string, property: boolean): string {
  let r = s.replace(/%0D/g, '\r').replace(/%0A/g, '\n')
  if (property) r = r.replace(/%3A/g, ':').replace(/%2C/g, ',')
  return r.replace(/%25/g, '%')
}

function annotations(out: string): Annotation[] {
  const list: Annotation[] = []
  for (const line of out.split('\n')) {
    const m = /^::(error|warning|notice)(?: ([^:]*))?::(.*)$/.exec(line)
    if (m === null) continue
    const props: Record<string, string> = {}
    for (const p of (m[2] ?? '').split(',')) {
      const eq = p.indexOf('=')
      if (eq > 0) props[p.slice(0, eq)] = unescape(p.slice(eq + 1), true)
    }
    list.push({ kind: m[1] ?? '', props, message: unescape(m[3] ?? '', false) })
  }
  return list
}

async function check(args: string[], cwd = examples, stdin = ''): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIO(stdin, {}, cwd)
  const code = await main(['check', ...args], io)
  return { code, out: io.out(), err: io.err() }
}

t.test('the escapes GitHub documents: %25 %0D %0A in data, and %3A %2C in properties', async (t) => {
  t.equal(escapeData('100% done\r\nnext: a,b'), '100%25 done%0D%0Anext: a,b')
  t.equal(escapeProperty('k8s/a,b:c.yaml 50%\n'), 'k8s/a%2Cb%3Ac.yaml 50%25%0A')
  t.equal(escapeData('%0A'), '%250A', 'an escape already in the text stays text')
})

t.test('one annotation per finding at its file and line, deny as error, warn as warning, info as notice', async (t) => {
  const r = await check(['-o', 'github', '.'])
  t.equal(r.code, 1, 'the same status as every format')
  const list = annotations(r.out)
  const findings = (JSON.parse((await check(['-o', 'json', '.'])).out) as { findings: Array<{ rule: string; action: string; path: string; message: string; fix: string; source: { file: string; line: number; column?: number } }> }).findings
  t.equal(list.length, findings.length)
  const kind: Record<string, string> = { deny: 'error', warn: 'warning', info: 'notice' }
  findings.forEach((f, i) => {
    const a = list[i]
    if (a === undefined) return t.fail(`annotation ${i}`)
    t.equal(a.kind, kind[f.action])
    t.equal(a.props['file'], f.source.file)
    t.equal(a.props['line'], String(f.source.line))
    if (f.source.column !== undefined) t.equal(a.props['col'], String(f.source.column))
    t.match(a.props['title'], new RegExp(`^${f.rule} \\(${f.action}\\): `), 'the title names the rule and the action')
    t.equal(a.message, `${f.path}: ${f.message}\nFix: ${f.fix}`, 'message and fix, on two lines once unescaped')
  })
  const cmd = list.find((a) => a.props['title']?.startsWith('command-missing'))
  t.equal(cmd?.props['title'], 'command-missing (deny): Pod shop/broken', 'a colon in the title survives as %3A')
  t.match(r.out, /^pod-preflight: \d+ objects checked in 5 files, 2 objects denied/m, 'the summary as plain log text')
  for (const line of r.out.trimEnd().split('\n')) t.ok(line.startsWith('::') || line.startsWith('pod-preflight: '), `no stray line: ${line.slice(0, 60)}`)
})

t.test('a file name with a comma, a colon and a percent sign reaches the annotation whole', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ppf-gh-'))
  const name = 'a,b:c 100%.yaml'
  writeFileSync(join(dir, name), readFileSync(join(examples, 'broken-pod.yaml'), 'utf8'))
  const r = await check(['-o', 'github', join(dir, name)], dir)
  const list = annotations(r.out)
  t.ok(list.length > 0)
  for (const a of list) t.equal(a.props['file'], name, 'relative to the workspace, escapes undone')
  t.notMatch(r.out, /file=a,b/, 'the raw comma would have ended the property')
})

t.test('input errors are error annotations at their line; notes are notices; stdin has no file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ppf-gh-'))
  writeFileSync(join(dir, 'bad.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: x\n')
  const r = await check(['-o', 'github', 'bad.yaml'], dir)
  t.equal(r.code, 2)
  const [e] = annotations(r.out)
  t.equal(e?.kind, 'error')
  t.equal(e?.props['file'], 'bad.yaml')
  t.match(e?.props['line'], /^\d+$/)
  t.equal(e?.props['title'], 'pod-preflight: input error')
  t.equal(r.err, '', 'shown once, in the annotations')

  const stdin = await check(['-o', 'github', '-'], dir, 'apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers:\n    - name: c\n      image: busybox:1.36\n')
  const [s] = annotations(stdin.out)
  t.equal(s?.kind, 'error')
  t.notOk('file' in (s?.props ?? {}), 'no file in the repository to point at')
  t.notOk('line' in (s?.props ?? {}), 'and so no line either')
})

t.test('hostile names: no raw control character, no forged command or line', async (t) => {
  const hostile = 'x\n::error file=forged.yaml::forged\u001b[2J\r\u202e'
  const pod = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: hostile, namespace: 'ns' }, spec: { containers: [{ name: hostile, image: 'busybox:1.36' }] } })
  const r = await check(['-o', 'github', '-'], examples, pod)
  t.notMatch(r.out, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/, 'only line feeds, between commands')
  t.notMatch(r.out, /^::error file=forged/m, 'a newline in a name does not start a command')
  const list = annotations(r.out)
  t.ok(list.length > 0)
  t.ok(list.every((a) => a.props['file'] === undefined || a.props['file'] !== 'forged.yaml'))
})
