/**
 * Every command with bad input: an unknown flag, a flag without its value, a bad -o format, a
 * missing file, malformed YAML, an unreadable kubeconfig. Each ends with status 2 and a message
 * on stderr that names the command and what is wrong; never a stack trace, never an internal
 * error, never the client library's last-resort server.
 */
import t from 'tap'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { COMMANDS, main } from '../../src/cli/main.js'
import { memoryIO } from '../../src/cli/io.js'

const root = new URL('../../', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'pp-bad-input-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const missing = join(dir, 'missing.yaml')
const malformed = join(dir, 'malformed.yaml')
writeFileSync(malformed, 'apiVersion: v1\nkind: Pod\nmetadata: {name: x\nspec: [\n')
const badKubeconfig = join(dir, 'kubeconfig')
writeFileSync(badKubeconfig, 'clusters: [: :\n')
const notObjects = join(dir, 'not-objects.yaml')
writeFileSync(notObjects, 'hello\n')
const kubeconfigDir = join(dir, 'kube-dir')
mkdirSync(kubeconfigDir)

const STACK = /^\s+at .+:\d+:\d+\)?$/m

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  // HOME without a kubeconfig: nothing here may reach a real cluster.
  const io = memoryIO('', { HOME: dir }, root)
  const code = await main(args, io)
  return { code, out: io.out(), err: io.err() }
}

/** [command line, what stderr must say]; every command of COMMANDS appears. */
const CASES: Array<[string[], RegExp]> = []
for (const { name } of COMMANDS) {
  CASES.push([[name, '--no-such-flag'], new RegExp(`^pod-preflight ${name}: unknown option '--no-such-flag'`)])
}
const valueMissing: Record<string, string> = {
  check: '--policy', rules: '--output', explain: '--namespace', serve: '--port', audit: '--cluster-state', install: '--image',
  uninstall: '--namespace', doctor: '--kubeconfig', snapshot: '--context', completion: '--help', version: '--output',
}
for (const { name } of COMMANDS) {
  const flag = valueMissing[name]
  t.ok(flag, `a flag with a value is listed for ${name}`)
  if (flag !== undefined && flag !== '--help') CASES.push([[name, flag], new RegExp(`^pod-preflight ${name}: option '.*${flag} <.*argument missing`)])
}
const badFormat = /-o\/--output must be one of .*, not "xml"/
CASES.push(
  [['check', '-o', 'xml', 'examples'], badFormat],
  [['rules', '-o', 'xml'], badFormat],
  [['explain', '-o', 'xml', '-f', 'examples/broken-pod.yaml'], badFormat],
  [['audit', '-o', 'xml', '--cluster-state', 'test/fixtures/audit/cluster.yaml'], badFormat],
  [['install', '-o', 'xml', '--kube-version', '1.29'], badFormat],
  [['uninstall', '-o', 'xml', '--kube-version', '1.29'], badFormat],
  [['doctor', '-o', 'xml'], badFormat],
  [['version', '-o', 'xml'], badFormat],
  [['snapshot', '-o', 'json', '--output-file', 'x', '--format', 'yaml'], /-o\/--output "json" and --format "yaml" disagree/],
  [['check', '-o', 'json', missing], /missing\.yaml: .*no such file/i],
  [['check', '-o', 'json', malformed], /malformed\.yaml:\d+: /],
  [['check', '-p', missing, 'examples'], /the policy cannot be used:\n {2}.*missing\.yaml: no such file/],
  [['check', '-p', malformed, 'examples'], /the policy cannot be used:\n {2}.*malformed\.yaml:\d+: /],
  [['explain', '-f', missing], /missing\.yaml: no such file or directory/],
  [['explain', '-f', malformed], /malformed\.yaml:\d+: /],
  [['explain', '-f', 'examples/broken-pod.yaml', '--logs', missing], /--logs .*missing\.yaml: no such file/],
  [['explain', '-A'], /-A\/--all-namespaces: explain reads one namespace at a time; give --all -n NAMESPACE .* 'pod-preflight audit -A'/],
  [['explain', 'web-0'], /no kubeconfig found: .*does not exist.*--kubeconfig FILE or KUBECONFIG=FILE/],
  [['audit', '-p', malformed, '--cluster-state', 'test/fixtures/audit/cluster.yaml'], /the policy cannot be used:\n {2}.*malformed\.yaml:\d+: /],
  [['install', '--policy', missing, '--kube-version', '1.29'], /--policy: cannot read .*missing\.yaml \(ENOENT\)/],
  [['install', '--policy', malformed, '--kube-version', '1.29'], /malformed\.yaml:\d+: /],
  [['install', '--certificates', 'provided', '--tls-secret-name', 't', '--ca-bundle', missing, '--kube-version', '1.29'], /missing\.yaml/],
  [['serve', '--tls-cert', missing, '--tls-key', missing], /cannot read the TLS certificate .*missing\.yaml \(no such file\)/],
  // Text output carries input errors in the report (as check's does); other formats say them on stderr.
  [['audit', '-o', 'json', '--cluster-state', missing], /^pod-preflight audit: .*missing\.yaml: no such file or directory/],
  [['audit', '-o', 'sarif', '--cluster-state', malformed], /malformed\.yaml:\d+:\d+: /],
  [['audit', '-o', 'json', '--cluster-state', notObjects], /not-objects\.yaml:1: not a Kubernetes object \(a string\)/],
  [['check', '-o', 'json', '--cluster-state', missing, 'examples/broken-pod.yaml'], /missing\.yaml: no such file/],
  [['check', '-o', 'json', '--cluster-state', notObjects, 'examples/broken-pod.yaml'], /not-objects\.yaml: no cluster state found/],
  [['check', '--fail-on', 'sometimes', 'examples'], /--fail-on must be deny, warn, info or never, not "sometimes"/],
  [['audit', '--fail-on', 'sometimes', '--cluster-state', 'test/fixtures/audit/cluster.yaml'], /--fail-on must be deny, warn, info or never, not "sometimes"/],
  [['check', '--max-file-size', 'lots', 'examples'], /--max-file-size takes a number of MiB, not "lots"/],
  [['explain', '--now', 'yesterday', '-f', 'examples/broken-pod.yaml'], /--now must be an RFC 3339 time/],
  [['explain', '--logs', 'x.log', 'web-0'], /--logs goes with -f FILE/],
  [['install', '--replicas', 'two', '--kube-version', '1.29'], /--replicas: "two" is not a whole number/],
  [['install', '--mode', 'strict', '--kube-version', '1.29'], /--mode: "strict" is not one of enforce, audit/],
  [['install', '--certificates', 'self', '--kube-version', '1.29'], /--certificates: "self" is not one of/],
  [['serve', '--tls-cert', 'c', '--tls-key', 'k', '--port', 'http'], /--port: "http" is not a whole number/],
  [['serve', '--tls-cert', 'c', '--tls-key', 'k', '--shutdown-delay', 'soon'], /--shutdown-delay: "soon" is not a duration/],
  [['serve', '--tls-cert', 'examples/broken-pod.yaml', '--tls-key', 'k', '--port', '0'], /cannot read the TLS key k \(no such file\)/],
  [['doctor', '--certificates', 'self'], /argument 'self' is invalid/],
  [['snapshot', '--kubeconfig', missing], /cannot load the kubeconfig .*missing\.yaml/],
  [['rules', 'no-such-rule'], /unknown rule "no-such-rule"/],
  [['completion', 'tcsh'], /no completion for "tcsh"/],
  [['version', 'extra'], /too many arguments/],
)
for (const name of ['explain', 'audit', 'doctor', 'snapshot']) {
  const operand = name === 'explain' ? ['web-0'] : []
  CASES.push([[name, ...operand, '--kubeconfig', badKubeconfig], /cannot load the kubeconfig .*kubeconfig: .*\(1:\d+\)$/m])
  CASES.push([[name, ...operand, '--kubeconfig', kubeconfigDir], /cannot load the kubeconfig .*kube-dir: EISDIR/])
}
// --output-file where nothing can be written: a full device, a directory, a missing directory.
const OUTPUT_FILE_RUNS: Record<string, string[]> = {
  check: ['check', 'examples/broken-pod.yaml'],
  explain: ['explain', '-f', 'test/fixtures/analyzer/pods/command-not-executable.yaml'],
  audit: ['audit', '--cluster-state', 'test/fixtures/audit/cluster.yaml'],
  install: ['install', '--kube-version', '1.29'],
  uninstall: ['uninstall', '--kube-version', '1.29'],
}
for (const args of Object.values(OUTPUT_FILE_RUNS)) {
  CASES.push([[...args, '--output-file', '/dev/full'], /^pod-preflight \w+: cannot write \/dev\/full: ENOSPC: no space left on device\n$/])
  CASES.push([[...args, '--output-file', kubeconfigDir], /cannot write .*kube-dir: EISDIR: illegal operation on a directory\n$/])
  CASES.push([[...args, '--output-file', join(dir, 'no-dir', 'out')], /cannot write .*no-dir\/out: ENOENT: no such file or directory\n$/])
}
for (const name of ['install', 'uninstall']) {
  CASES.push([[name, '--kubeconfig', badKubeconfig], /cannot load the kubeconfig .*kubeconfig: .*\(or give --kube-version to render without asking\)/])
}

t.test('every command with bad input: status 2, one clear message, no stack trace', async (t) => {
  for (const { name } of COMMANDS) t.ok(CASES.some(([args]) => args[0] === name && args[1] === '--no-such-flag'), `${name} is covered`)
  for (const [args, says] of CASES) {
    const label = args.join(' ').replaceAll(dir, 'DIR')
    const r = await cli(args)
    t.equal(r.code, 2, `${label}: status 2`)
    // A problem inside an input file is said as FILE[:LINE]: message, as compilers do.
    t.match(r.err, new RegExp(`^(pod-preflight ${args[0]}: |${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/)`), `${label}: stderr names the command or the file`)
    t.match(r.err, says, `${label}: says what is wrong`)
    t.notMatch(r.err, STACK, `${label}: no stack trace`)
    t.notMatch(r.err, /internal error|localhost:8080|\n\s*\^/, `${label}: no internal error, no library fallback, no code frame`)
  }
})

t.test('a value given on the command line is shown with its controls escaped and shortened', async (t) => {
  // An ESC sequence, an 8-bit CSI, a bidi override and a carriage return: none may reach the terminal raw.
  const hostile = '\u001b[31mred\u009b2J\u202eevil\rDENY'
  const long = `x${'y'.repeat(10_000)}`
  const runs: string[][] = [
    ['serve', '--tls-cert', 'c', '--tls-key', 'k', '--shutdown-delay', hostile],
    ['serve', '--tls-cert', 'c', '--tls-key', 'k', '--port', hostile],
    ['check', '--fail-on', hostile, 'examples'],
    ['check', '-o', hostile, 'examples'],
    ['check', '--kustomize', hostile, 'examples'],
    ['audit', '-n', hostile, '--cluster-state', 'test/fixtures/audit/cluster.yaml'],
    ['install', '--mode', hostile, '--kube-version', '1.29'],
    ['rules', hostile],
    ['completion', hostile],
    ['check', `--bogus${hostile}`, 'examples'],
    [`chek${hostile}`],
  ]
  for (const args of runs) {
    const r = await cli(args)
    const label = JSON.stringify(args)
    t.equal(r.code, 2, `${label}: status 2`)
    t.notMatch(r.err, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/, `${label}: no raw control on stderr`)
    t.match(r.err, /\\x1b\[31mred\\x9b2J\\u202eevil\\rDENY/, `${label}: the value is shown, escaped`)
  }
  for (const args of [['serve', '--tls-cert', 'c', '--tls-key', 'k', '--shutdown-delay', long], ['rules', long], ['check', `--${long}`, 'examples']]) {
    const r = await cli(args)
    t.equal(r.code, 2)
    t.ok(r.err.length < 4200, `${args[0]} with a 10,000-character value: stderr is shortened (${r.err.length} characters)`)
    t.match(r.err, /xyy/, 'the start of the value is shown')
  }
})
