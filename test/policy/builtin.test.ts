import t from 'tap'
import { readFile } from 'node:fs/promises'
import { main } from '../../src/cli/main.js'
import { memoryIO } from '../../src/cli/io.js'
import { builtinPolicyName, loadPolicyFile, PolicyError } from '../../src/policy/policy.js'
import { RULES } from '../../src/rules/index.js'

const examples = new URL('../../examples/', import.meta.url).pathname
const strictFile = new URL('../../policies/strict.yaml', import.meta.url).pathname

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIO('', {}, examples)
  const code = await main(args, io)
  return { code, out: io.out(), err: io.err() }
}

t.test('builtin:NAME names a shipped policy; anything else is a file path', async (t) => {
  t.equal(builtinPolicyName('builtin:strict'), 'strict')
  t.equal(builtinPolicyName('builtin:default'), 'default')
  t.equal(builtinPolicyName('policies/strict.yaml'), undefined)
  t.equal(builtinPolicyName('./builtin:strict'), undefined, 'a path that merely contains the word is a file')
  t.throws(() => builtinPolicyName('builtin:strcit'), PolicyError)
  const strict = await loadPolicyFile('builtin:strict', RULES)
  const fromFile = await loadPolicyFile(strictFile, RULES)
  t.equal(strict.name, fromFile.name, 'the same policy as the file')
  t.same(strict.rules, fromFile.rules, 'with the same rule settings')
  t.equal(strict.source, 'policies/strict.yaml (built in)')
})

t.test('check --policy builtin:strict judges as --policy policies/strict.yaml does', async (t) => {
  const a = await run(['check', '-o', 'json', '--policy', 'builtin:strict', '.'])
  const b = await run(['check', '-o', 'json', '--policy', strictFile, '.'])
  t.equal(a.code, b.code, a.err)
  const findings = (s: string): unknown => (JSON.parse(s) as { findings: unknown[] }).findings
  t.same(findings(a.out), findings(b.out))
  const d = await run(['check', '-o', 'json', '.'])
  t.not(JSON.stringify(findings(d.out)), JSON.stringify(findings(a.out)), 'and differently from the default policy')
})

t.test('an unknown built-in name is one line naming the ones there are', async (t) => {
  for (const cmd of [['check', '.'], ['audit', '--cluster-state', 'web-deployment.yaml'], ['install', '--kube-version', '1.31']]) {
    const r = await run([...cmd, '--policy', 'builtin:strcit'])
    t.equal(r.code, 2, `${String(cmd[0])} exits 2`)
    t.match(r.err, /builtin:strcit: no such built-in policy; the built-in policies are builtin:default and builtin:strict/, String(cmd[0]))
    t.notMatch(r.err, /\n\s+at /, 'no stack trace')
  }
})

t.test('install --policy builtin:strict ships the strict policy in the ConfigMap', async (t) => {
  const r = await run(['install', '--kube-version', '1.31', '--policy', 'builtin:strict', '-o', 'json'])
  t.equal(r.code, 0, r.err)
  const list = JSON.parse(r.out) as { items: { kind: string; data?: Record<string, string> }[] }
  const cm = list.items.find((o) => o.kind === 'ConfigMap')
  const text = Object.values(cm?.data ?? {}).join('')
  t.match(text, /name: strict/, 'the strict policy is shipped')
  t.ok(text.includes((await readFile(strictFile, 'utf8')).split('\n').find((l) => l.includes('name: strict')) ?? '\u0000'))
})
