/**
 * The conventions every command shares: -o/--output (and the older --format), -f/--filename
 * beside positional paths, --color=auto|always|never with NO_COLOR and the older --no-color,
 * the program name as invoked, version, help and unknown commands.
 */
import t from 'tap'
import { main } from '../../src/cli/main.js'
import { memoryIO, type CliIO } from '../../src/cli/io.js'
import { progFromInvocation } from '../../src/cli/command.js'

const examples = new URL('../../examples/', import.meta.url).pathname

async function cli(args: string[], opts: { env?: Record<string, string>; tty?: boolean; prog?: string; stdin?: string } = {}): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIO(opts.stdin ?? '', opts.env ?? {}, examples) as CliIO & { out: () => string; err: () => string }
  if (opts.tty === true) io.stdout.isTTY = true
  if (opts.prog !== undefined) io.prog = opts.prog
  const code = await main(args, io)
  return { code, out: io.out(), err: io.err() }
}

// eslint-disable-next-line no-control-regex
const ESC = /\x1b\[/

t.test('-o, --output, --output=, and the older --format give the same output', async (t) => {
  const spellings = [['-o', 'json'], ['--output', 'json'], ['--output=json'], ['--format', 'json'], ['--format=json'], ['-ojson']]
  const outs = []
  for (const s of spellings) {
    const r = await cli(['check', ...s, 'broken-pod.yaml'])
    t.equal(r.code, 1, s.join(' '))
    t.equal(r.err, '', s.join(' '))
    outs.push(r.out)
  }
  t.ok(JSON.parse(outs[0] ?? '') !== undefined)
  for (const o of outs) t.equal(o, outs[0])
  const yaml = await cli(['check', '-o', 'yaml', 'broken-pod.yaml'])
  t.equal(yaml.code, 1)
  t.match(yaml.out, /^findings:\n {2}- rule: /)
  for (const cmd of [['rules'], ['version'], ['explain', '-f', 'broken-pod.yaml']]) {
    const bad = await cli([...cmd, '-o', 'xml'])
    t.equal(bad.code, 2, cmd.join(' '))
    t.match(bad.err, /-o\/--output must be one of text, json, yaml, not "xml"/, cmd.join(' '))
    const y = await cli([...cmd, '-o', 'yaml'])
    t.not(y.out, '', `${cmd.join(' ')} -o yaml prints something`)
    t.notMatch(y.out, /^\{/, `${cmd.join(' ')} -o yaml is not JSON`)
  }
})

t.test('-f/--filename, repeated, and positional paths are the same inputs', async (t) => {
  const a = await cli(['check', '-o', 'json', 'broken-pod.yaml', 'web-deployment.yaml'])
  const b = await cli(['check', '-o', 'json', '-f', 'broken-pod.yaml', '--filename', 'web-deployment.yaml'])
  const c = await cli(['check', '-o', 'json', '-f', 'broken-pod.yaml', 'web-deployment.yaml'])
  t.equal(a.code, 1)
  t.same(JSON.parse(b.out), JSON.parse(a.out))
  t.same(JSON.parse(c.out), JSON.parse(a.out))
  const stdin = await cli(['check', '-o', 'json', '-f', '-'], { stdin: 'apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers:\n  - name: a\n    image: busybox:1.36\n' })
  t.match(JSON.parse(stdin.out), { findings: [{ rule: 'command-missing' }] })
  // explain keeps --file beside -f/--filename
  const e1 = await cli(['explain', '-o', 'json', '--file', 'broken-pod.yaml'])
  const e2 = await cli(['explain', '-o', 'json', '--filename', 'broken-pod.yaml'])
  t.equal(e1.out, e2.out)
  t.equal(e1.code, e2.code)
})

t.test('--color=auto|always|never, NO_COLOR and --no-color', async (t) => {
  const run = (args: string[], opts: { env?: Record<string, string>; tty?: boolean } = {}) => cli(['check', ...args, 'broken-pod.yaml'], opts)
  t.notMatch((await run([])).out, ESC, 'not a terminal: no colour')
  t.match((await run([], { tty: true })).out, ESC, 'a terminal: colour')
  t.notMatch((await run([], { tty: true, env: { NO_COLOR: '1' } })).out, ESC, 'NO_COLOR turns auto off')
  t.match((await run([], { tty: true, env: { NO_COLOR: '' } })).out, ESC, 'an empty NO_COLOR does not')
  t.match((await run(['--color=always'], { env: { NO_COLOR: '1' } })).out, ESC, '--color=always wins over NO_COLOR')
  t.match((await run(['--color', 'always'])).out, ESC)
  t.match((await run(['--color'])).out, ESC, 'a bare --color means always')
  t.notMatch((await run(['--color=never'], { tty: true })).out, ESC)
  t.notMatch((await run(['--no-color'], { tty: true })).out, ESC, 'the older --no-color')
  t.match((await run(['--color=auto'], { tty: true })).out, ESC)
  // The older boolean --color followed by a path still reads the path as a path.
  const legacy = await cli(['check', '--color', 'broken-pod.yaml'])
  t.equal(legacy.code, 1)
  t.match(legacy.out, ESC)
  const bad = await run(['--color=sometimes'])
  t.equal(bad.code, 2)
  t.match(bad.err, /--color must be auto, always or never, not "sometimes"/)
})

t.test('the program name follows the invocation', async (t) => {
  t.equal(progFromInvocation('/usr/local/bin/kubectl-preflight', '/usr/bin/node'), 'kubectl preflight')
  t.equal(progFromInvocation(undefined, '/home/me/.krew/bin/kubectl-preflight'), 'kubectl preflight')
  t.equal(progFromInvocation('/usr/lib/node_modules/pod-preflight/dist/cli/bin.js', '/usr/bin/node'), 'pod-preflight')
  t.equal(progFromInvocation('/usr/local/bin/pod-preflight', '/usr/local/bin/pod-preflight'), 'pod-preflight')
  const help = await cli(['check', '--help'], { prog: 'kubectl preflight' })
  t.match(help.out, /^Usage: kubectl preflight check \[options\]/)
  t.notMatch(help.out, /pod-preflight/)
  const top = await cli(['--help'], { prog: 'kubectl preflight' })
  t.match(top.out, /^Usage: kubectl preflight <command>/)
  const err = await cli(['rules', 'nope'], { prog: 'kubectl preflight' })
  t.match(err.err, /^kubectl preflight rules: unknown rule "nope".*'kubectl preflight rules' lists them/)
  const v = await cli(['version'], { prog: 'kubectl preflight' })
  t.match(v.out, /^kubectl preflight \d+\.\d+\.\d+/)
  const audit = await cli(['audit', '--cluster-state', 'no-such-state.json', '-o', 'json'], { prog: 'kubectl preflight' })
  t.equal(audit.code, 2)
  t.match(audit.err, /^kubectl preflight audit: /, "audit's own messages name the plugin too")
  const install = await cli(['install'], { prog: 'kubectl preflight', env: { HOME: '/nonexistent', KUBECONFIG: '' } })
  t.equal(install.code, 0)
  t.match(install.err, /^kubectl preflight install: no kubeconfig/, "and install's")
  t.notMatch(`${audit.err}${install.err}`, /pod-preflight (audit|install):/)
})

t.test('version, help and unknown commands', async (t) => {
  for (const args of [['version'], ['--version'], ['-v']]) {
    const r = await cli(args)
    t.equal(r.code, 0)
    t.match(r.out, /^pod-preflight \d+\.\d+\.\d+\n {2}commit: .*\n {2}package: .*\n {2}node: {5}v\d+/, args.join(' '))
  }
  const j = await cli(['version', '-o', 'json'])
  t.match(JSON.parse(j.out), { version: String, node: process.version, platform: `${process.platform}/${process.arch}` })
  const help = await cli(['help', 'check'])
  t.equal(help.code, 0)
  t.match(help.out, /^Usage: pod-preflight check/)
  const none = await cli([])
  t.equal(none.code, 2)
  t.match(none.out, /Commands:\n(.*\n)*\s+check\s/)
  const typo = await cli(['chek', 'x.yaml'])
  t.equal(typo.code, 2)
  t.match(typo.err, /^pod-preflight: unknown command 'chek' \(Did you mean check\?\)/)
  const missing = await cli(['explain', '--namespace'])
  t.equal(missing.code, 2)
  t.match(missing.err, /argument missing/)
})

t.test('install, uninstall and audit: every older spelling gives the same output as the shared one', async (t) => {
  const root = new URL('../../', import.meta.url).pathname
  const state = 'test/fixtures/audit/cluster.yaml'
  const at = async (args: string[]): Promise<{ code: number; out: string; err: string }> => {
    const io = memoryIO('', { HOME: '/nonexistent-home' }, root)
    const code = await main(args, io)
    // The audit report says when it was made; everything else must match.
    return { code, out: io.out().replace(/"generatedAt": "[^"]+"/, '"generatedAt": "T"'), err: io.err() }
  }
  const same = async (label: string, spellings: string[][], status: number): Promise<void> => {
    const first = await at(spellings[0] ?? [])
    t.equal(first.code, status, `${label}: ${spellings[0]?.join(' ')} (${first.err})`)
    t.not(first.out, '', `${label}: prints something`)
    for (const s of spellings.slice(1)) {
      const r = await at(s)
      t.equal(r.code, status, `${label}: ${s.join(' ')} (${r.err})`)
      t.equal(r.out, first.out, `${label}: ${s.join(' ')} is the same`)
    }
  }
  const install = ['install', '--kube-version', '1.29']
  await same('install format', [[...install, '-o', 'json'], [...install, '--output', 'json'], [...install, '--output=json'], [...install, '-ojson'], [...install, '--format', 'json'], [...install, '--format=json']], 0)
  await same('install namespace', [[...install, '-n', 'checks'], [...install, '--namespace', 'checks'], [...install, '--namespace=checks']], 0)
  await same('install policy', [[...install, '--policy', 'policies/strict.yaml'], [...install, '-p', 'policies/strict.yaml'], [...install, '--policy=policies/strict.yaml']], 0)
  await same('install flags with =', [[...install, '--certificates', 'cert-manager', '--replicas', '3', '--apiserver-cidr', '10.0.0.0/8', '--apiserver-cidr', '10.1.0.0/16'], [...install, '--certificates=cert-manager', '--replicas=3', '--apiserver-cidr=10.0.0.0/8', '--apiserver-cidr=10.1.0.0/16']], 0)
  const json = JSON.parse((await at([...install, '-o', 'json', '--apiserver-cidr', '10.0.0.0/8', '--apiserver-cidr', '10.1.0.0/16'])).out) as { items: { kind: string; spec?: { ingress?: { from: unknown[] }[] } }[] }
  t.same(json.items.find((o) => o.kind === 'NetworkPolicy')?.spec?.ingress?.[0]?.from, [{ ipBlock: { cidr: '10.0.0.0/8' } }, { ipBlock: { cidr: '10.1.0.0/16' } }], 'both --apiserver-cidr are kept')
  const noNp = await at([...install, '-o', 'json', '--no-network-policy'])
  t.notMatch(noNp.out, /"kind": "NetworkPolicy"/, '--no-network-policy still drops it')
  const uninstall = ['uninstall', '--kube-version', '1.29']
  await same('uninstall', [[...uninstall, '-o', 'json', '-n', 'x', '--keep-namespace'], [...uninstall, '--format', 'json', '--namespace', 'x', '--keep-namespace'], [...uninstall, '--output=json', '--namespace=x', '--keep-namespace']], 0)
  const audit = ['audit', '--cluster-state', state]
  await same('audit format', [[...audit, '-o', 'json'], [...audit, '--output', 'json'], [...audit, '--format', 'json'], [...audit, '--format=json'], [...audit, '-ojson']], 1)
  await same('audit namespaces', [[...audit, '-o', 'json', '-n', 'shop', '-n', 'data'], [...audit, '-o', 'json', '--namespace', 'shop', '--namespace=data']], 1)
  const one = JSON.parse((await at([...audit, '-o', 'json', '-n', 'shop'])).out) as unknown
  const two = JSON.parse((await at([...audit, '-o', 'json', '-n', 'shop', '-n', 'data'])).out) as unknown
  t.not(JSON.stringify(one), JSON.stringify(two), 'a second -n widens the audit (both are read)')
  await same('audit all namespaces', [[...audit, '-o', 'json'], [...audit, '-o', 'json', '-A'], [...audit, '-o', 'json', '--all-namespaces']], 1)
  await same('audit colour', [[...audit, '--color=never'], [...audit, '--no-color'], [...audit, '--color', 'never'], [...audit]], 1)
  const coloured = await at([...audit, '--color=always'])
  t.match(coloured.out, ESC, '--color=always colours the audit')
  t.match((await at([...audit, '--color', 'always'])).out, ESC)
  await same('audit policy and fail-on', [[...audit, '-o', 'json', '--policy', 'policies/strict.yaml', '--fail-on', 'never'], [...audit, '-o', 'json', '-p', 'policies/strict.yaml', '--fail-on=never']], 0)
  const disagree = await at([...audit, '-o', 'json', '--format', 'html'])
  t.equal(disagree.code, 2)
  t.match(disagree.err, /-o\/--output "json" and --format "html" disagree; give one/)
  for (const cmd of ['install', 'uninstall', 'audit']) {
    const help = await at([cmd, '--help'])
    t.equal(help.code, 0)
    t.match(help.out, new RegExp(`^Usage: pod-preflight ${cmd} \\[options\\]`), `${cmd} --help`)
    t.match(help.out, /-o, --output <format>/)
    t.notMatch(help.out, /--format/, `${cmd}: --format is a hidden alias`)
  }
})

t.test('--output-file FILE: every command that writes a report or manifests, the same text as on standard output', async (t) => {
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const root = new URL('../../', import.meta.url).pathname
  const dir = mkdtempSync(join(tmpdir(), 'pp-output-file-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const at = async (args: string[]): Promise<{ code: number; out: string; err: string }> => {
    const io = memoryIO('', { HOME: '/nonexistent-home' }, root)
    const code = await main(args, io)
    return { code, out: io.out(), err: io.err() }
  }
  const stamp = (s: string): string => s.replace(/"generatedAt": "[^"]+"/, '"generatedAt": "T"')
  const runs: Record<string, [string[], number]> = {
    check: [['check', '-o', 'json', 'examples/broken-pod.yaml'], 1],
    explain: [['explain', '-o', 'yaml', '-f', 'test/fixtures/analyzer/pods/command-not-executable.yaml'], 0],
    audit: [['audit', '-o', 'json', '--cluster-state', 'test/fixtures/audit/cluster.yaml'], 1],
    install: [['install', '--kube-version', '1.29'], 0],
    uninstall: [['uninstall', '--kube-version', '1.29'], 0],
  }
  for (const [name, [args, status]] of Object.entries(runs)) {
    const plain = await at(args)
    t.equal(plain.code, status, `${name}: ${plain.err}`)
    t.not(plain.out, '', `${name} prints something`)
    const file = join(dir, `${name}.out`)
    const toFile = await at([...args, '--output-file', file])
    t.equal(toFile.code, status, `${name} --output-file: same status`)
    t.equal(toFile.out, '', `${name} --output-file: nothing on standard output`)
    t.match(toFile.err, new RegExp(`pod-preflight ${name}: wrote ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), `${name}: says where it wrote`)
    t.equal(stamp(readFileSync(file, 'utf8')), stamp(plain.out), `${name} --output-file: the same text`)
    const eq = await at([...args, `--output-file=${file}.2`])
    t.equal(stamp(readFileSync(`${file}.2`, 'utf8')), stamp(plain.out), `${name} --output-file=FILE`)
    t.equal(eq.code, status)
    const dash = await at([...args, '--output-file', '-'])
    t.equal(stamp(dash.out), stamp(plain.out), `${name} --output-file -: standard output`)
    const help = await at([name, '--help'])
    t.match(help.out, /--output-file <file>/, `${name} --help lists --output-file`)
  }
  // Text into a file is never coloured (the file is not a terminal), even from a terminal.
  const io = memoryIO('', {}, root)
  io.stdout.isTTY = true
  const file = join(dir, 'text.out')
  t.equal(await main(['check', '--output-file', file, 'examples/broken-pod.yaml'], io), 1)
  t.notMatch(readFileSync(file, 'utf8'), ESC)
  const snapshotHelp = await at(['snapshot', '--help'])
  t.match(snapshotHelp.out, /--output-file <file>/)
})
