/**
 * `check` started from V8's code cache (src/cli/code-cache.ts), on a bundle of our own in a
 * temporary directory, each start in a process of its own: the cache is used only when the
 * command is check, it is not turned off, both files are there and the cache was made by this
 * V8 for this very bundle; otherwise nothing runs and the caller starts as before.
 * A cache V8 refuses still runs the bundle, compiled as usual.
 */
import t from 'tap'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const dir = mkdtempSync(join(tmpdir(), 'pp-code-cache-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const bundle = join(dir, 'check.cjs')
const cache = `${bundle}.cache`
const moduleUrl = new URL('../../src/cli/code-cache.ts', import.meta.url).href
// tsx, found from here: the processes run in the temporary directory.
const tsx = import.meta.resolve('tsx')

// What the bundle does: says it ran, with what, and that it is a CommonJS module.
writeFileSync(
  bundle,
  '#!/usr/bin/env node\n' +
    "const os = require('node:os')\n" +
    "process.stdout.write('ran ' + JSON.stringify(process.argv.slice(2)) + ' ' + typeof os.cpus + ' ' + (__filename === " +
    JSON.stringify(bundle) +
    ") + '\\n')\n",
)

/** Node with tsx, running `code` (an ES module) in `cwd`; its status, output and errors. */
function node(code: string, env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [`--import=${tsx}`, '--input-type=module', '-e', code], { cwd: dir, env: { PATH: process.env['PATH'], ...env }, encoding: 'utf8' })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

const record = (): void => {
  const r = node(`import { recordCodeCache } from ${JSON.stringify(moduleUrl)}\nrecordCodeCache(${JSON.stringify(bundle)}, 'stub.js', ['check', 'a.yaml'])\n`)
  if (r.status !== 0 || !r.stdout.startsWith('ran ')) throw new Error(`recording failed: ${r.stderr}`)
}

/** startFromCodeCache with this command line (after node and the stub) and environment, with POD_PREFLIGHT_DEBUG set. */
function start(args: string[], env: Record<string, string> = {}): { started: boolean; ran: boolean; stdout: string; said: string } {
  const code =
    `import { startFromCodeCache } from ${JSON.stringify(moduleUrl)}\n` +
    // As the stub calls it: with the process's own command line, which the bundle reads.
    `process.argv = [process.execPath, 'stub.js', ...${JSON.stringify(args)}]\n` +
    `const started = startFromCodeCache(new URL(${JSON.stringify(pathToFileURL(bundle).href)}), process.argv, { POD_PREFLIGHT_DEBUG: '1', ...${JSON.stringify(env)} })\n` +
    "process.stdout.write('started ' + started + '\\n')\n"
  const r = node(code)
  if (r.status !== 0) throw new Error(`the start failed: ${r.stderr}`)
  return { started: r.stdout.includes('started true'), ran: r.stdout.includes('ran '), stdout: r.stdout, said: r.stderr.trim() }
}

record()

t.test('check with a cache made here: the bundle runs from it, as a CommonJS module', async (t) => {
  const s = start(['check', 'deploy.yaml', '-o', 'json'])
  t.ok(s.started)
  t.match(s.stdout, 'ran ["check","deploy.yaml","-o","json"] function true', 'the command line, require and __filename as Node gives them')
  t.match(s.said, /code cache: used/)
  const header = readFileSync(cache, 'latin1').split('\n')[0] ?? ''
  t.equal(header, `pod-preflight code cache v1 ${process.versions.v8} ${process.arch} ${createHash('sha256').update(readFileSync(bundle)).digest('hex')}`, 'the first line says what it was made for')
})

t.test('any other command is not started, and nothing is said', async (t) => {
  for (const args of [['version'], ['--version'], [], ['rules', 'check'], ['Check']]) {
    const s = start(args)
    t.notOk(s.started, JSON.stringify(args))
    t.notOk(s.ran)
    t.equal(s.said, '')
  }
})

t.test('turned off with POD_PREFLIGHT_CODE_CACHE=0', async (t) => {
  const s = start(['check'], { POD_PREFLIGHT_CODE_CACHE: '0' })
  t.notOk(s.started)
  t.notOk(s.ran)
  t.match(s.said, /not used: POD_PREFLIGHT_CODE_CACHE=0/)
  t.ok(start(['check'], { POD_PREFLIGHT_CODE_CACHE: '1' }).started, 'any other value leaves it on')
})

t.test('not used when the bundle changed since, by one character', async (t) => {
  const good = readFileSync(bundle, 'latin1')
  writeFileSync(bundle, good.replace('ran ', 'rap '), 'latin1')
  const s = start(['check'])
  t.notOk(s.started)
  t.notOk(s.ran)
  t.match(s.said, /made for another V8 version, architecture or bundle/)
  writeFileSync(bundle, good, 'latin1')
  t.ok(start(['check']).started, 'as it was: used again')
})

t.test('not used when the cache is missing, or made for another V8 version or bundle length', async (t) => {
  const good = readFileSync(cache)
  const put = (data: Buffer): void => writeFileSync(cache, data)
  const line = good.toString('latin1').split('\n')[0] ?? ''
  const rest = good.subarray(line.length)
  for (const [what, other] of [
    ['another V8 version', line.replace(process.versions.v8, '1.2.3')],
    ['another architecture', line.replace(` ${process.arch} `, ' sparc ')],
    ['another bundle', line.replace(/ [0-9a-f]{64}$/, ` ${'0'.repeat(64)}`)],
    ['another format', line.replace(' v1 ', ' v0 ')],
  ] as const) {
    put(Buffer.concat([Buffer.from(other, 'latin1'), rest]))
    const s = start(['check'])
    t.notOk(s.started, what)
    t.notOk(s.ran, what)
    t.match(s.said, /made for another V8 version, architecture or bundle/, what)
  }
  put(Buffer.from(`${line}\n`, 'latin1'))
  t.notOk(start(['check']).started, 'a first line and nothing else')
  rmSync(cache)
  const s = start(['check'])
  t.notOk(s.started)
  t.match(s.said, /check\.cjs\.cache cannot be read/)
  put(good)
})

t.test("a cache V8 refuses: the bundle still runs, compiled as usual", async (t) => {
  const good = readFileSync(cache)
  const line = good.toString('latin1').indexOf('\n') + 1
  const broken = Buffer.from(good)
  for (let i = line; i < broken.length; i += 7) broken[i] = (broken[i] ?? 0) ^ 0x5a
  writeFileSync(cache, broken)
  const s = start(['check', 'x'])
  t.ok(s.started)
  t.match(s.stdout, 'ran ["check","x"]')
  t.match(s.said, /refused by V8/)
  writeFileSync(cache, good)
  t.match(start(['check']).said, /code cache: used/, 'the good cache again')
})

t.test('the build records only an ASCII bundle (it is read as latin1)', async (t) => {
  const other = join(dir, 'other.cjs')
  writeFileSync(other, "process.stdout.write('caf\u00e9\\n')\n")
  const r = node(`import { recordCodeCache } from ${JSON.stringify(moduleUrl)}\nrecordCodeCache(${JSON.stringify(other)}, 'stub.js', ['check'])\n`)
  t.not(r.status, 0)
  t.match(r.stderr, /other\.cjs is not ASCII/)
  t.equal(r.stdout, '', 'nothing ran')
})

t.test('what it says names paths with their control characters escaped', async (t) => {
  const odd = join(dir, 'in\u001b[31mred')
  mkdirSync(odd)
  writeFileSync(join(odd, 'check.cjs'), '')
  const code =
    `import { startFromCodeCache } from ${JSON.stringify(moduleUrl)}\n` +
    `startFromCodeCache(new URL(${JSON.stringify(pathToFileURL(join(odd, 'check.cjs')).href)}), ['node', 'stub.js', 'check'], { POD_PREFLIGHT_DEBUG: '1' })\n`
  const r = node(code)
  t.match(r.stderr, 'in\\x1b[31mred/check.cjs.cache cannot be read')
  t.notOk(r.stderr.includes('\u001b'), 'no raw escape character')
})
