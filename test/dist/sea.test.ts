/**
 * The single executable (npm run build:sea): built here, copied alone into an empty directory
 * far from this repository, and run as a user would: check, explain, serve and rules with no
 * Node.js modules, package.json or policies beside it, and as kubectl-preflight, the name krew
 * installs it under.
 */
import t from 'tap'
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { root, run, serveOnce, STACK, userDir } from './helpers.js'

const platform = `${process.platform}-${process.arch}`
const built = join(root, `release/pod-preflight-${platform}`)
const tmp = mkdtempSync(join(tmpdir(), 'pp-sea-'))
t.teardown(() => rmSync(tmp, { recursive: true, force: true }))
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }

// The executable sits in bin/ of a directory whose policies/ holds a policy that cannot parse:
// an executable that looked for its policy beside itself (as dist/ does) would fail on it.
const bin = join(tmp, 'bin/pod-preflight')

t.before(async () => {
  const b = await run('npm', ['run', '--silent', 'build:sea'], { cwd: root, env: { ...process.env, NODE_OPTIONS: '' }, deadlineMs: 600_000 })
  if (b.status !== 0) throw new Error(`npm run build:sea failed:\n${b.stdout}\n${b.stderr}`)
  mkdirSync(join(tmp, 'bin'))
  copyFileSync(built, bin)
  chmodSync(bin, 0o755)
  mkdirSync(join(tmp, 'policies'))
  writeFileSync(join(tmp, 'policies/default.yaml'), 'not: [a policy\n')
  writeFileSync(join(tmp, 'package.json'), '{"version": "9.9.9-not-this"}\n')
})

t.test('build:sea writes the executable, the krew archive and their digests', async (t) => {
  t.ok(existsSync(built), built)
  const sums = readFileSync(join(root, 'release/SHA256SUMS'), 'utf8')
  t.match(sums, new RegExp(`^[0-9a-f]{64}  pod-preflight-${platform}$`, 'm'))
  t.match(sums, new RegExp(`^[0-9a-f]{64}  kubectl-preflight-${platform}\\.tar\\.gz$`, 'm'))
  const list = await run('tar', ['tzvf', join(root, `release/kubectl-preflight-${platform}.tar.gz`)], { cwd: tmp })
  t.match(list.stdout, /^-rwxr-xr-x .* kubectl-preflight$/m, 'the archive holds an executable kubectl-preflight')
  t.match(list.stdout, /^-rw-r--r-- .* LICENSE$/m, 'and the license, as krew asks of a plugin archive')
})

t.test('version: the package version and the build compiled in, not a package.json nearby', async (t) => {
  const v = await run(bin, ['version'], { cwd: tmp })
  t.equal(v.status, 0, 'version', { stderr: v.stderr })
  t.match(v.stdout, new RegExp(`^pod-preflight ${pkg.version.replace(/\./g, '\\.')}$`, 'm'))
  t.match(v.stdout, /package:\s+single-executable/)
  t.notMatch(v.stdout, /9\.9\.9/)
})

t.test('check, explain and serve from an empty directory, the default policy from inside the executable', async (t) => {
  const u = await userDir(join(tmp, 'work'))
  t.notOk(existsSync(join(u.dir, 'node_modules')) || existsSync(join(tmp, 'node_modules')), 'no node_modules anywhere near')

  const check = await run(bin, ['check', 'examples/'], { cwd: u.dir })
  t.equal(check.status, 1, 'check denies the broken examples', { stderr: check.stderr })
  t.match(check.stdout, /DENY\s+command-missing/)
  t.notMatch(check.stderr, /policies\/default\.yaml|not: \[a policy/, 'the policy beside the executable is not read')
  t.notMatch(check.stderr, STACK)

  // The Kubernetes schemas come from inside the executable too.
  writeFileSync(join(u.dir, 'typo.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: { name: web }\nspec:\n  ports:\n    - { port: 80, targetport: 8080 }\n')
  const schema = await run(bin, ['check', '--kubernetes-version', '1.34', 'typo.yaml'], { cwd: u.dir })
  t.equal(schema.status, 1, 'check denies the misspelt field', { stderr: schema.stderr })
  t.match(schema.stdout, /DENY\s+schema-invalid\s+spec\.ports\[0\]\.targetport/)
  t.match(schema.stdout, /did you mean "targetPort"\?/)
  t.notMatch(schema.stderr, STACK)

  const explain = await run(bin, ['explain', '-f', u.failedPod], { cwd: u.dir })
  t.equal(explain.status, 0, 'explain -f', { stderr: explain.stderr })
  t.match(explain.stdout, /\[exit-no-foreground-process\] container toolbox, exit 0/)

  const served = await serveOnce(bin, [], u)
  t.ok(served.port !== undefined && served.port > 0, 'serve listened', { stderr: served.ended.stderr.slice(0, 4000) })
  t.equal(served.healthz, 200, '/healthz answers 200')
  const answer = JSON.parse(served.review?.text ?? '{}') as { response?: { allowed?: boolean; status?: { message?: string } } }
  t.equal(answer.response?.allowed, false, 'the example review is refused')
  t.match(answer.response?.status?.message ?? '', /command-missing/)
  t.match(served.ended.stderr, /"source":"policies\/default\.yaml \(built in\)"/, 'serve loaded the built-in policy')
  t.equal(served.ended.status, 0, 'serve ends cleanly on SIGTERM')
  t.notMatch(served.ended.stderr, STACK)

  // serve --workers: node:cluster starts each worker as the executable again. Asked once the
  // primary says every worker listens.
  const workers = await serveOnce(bin, [], u, undefined, ['--workers', '2'], /"port":(\d+),"workers":2,"pids":\[\d+,\d+\],"msg":"listening"/)
  t.equal(workers.healthz, 200, '--workers 2: /healthz answers 200', { stderr: workers.ended.stderr.slice(0, 4000) })
  const refused = JSON.parse(workers.review?.text ?? '{}') as { response?: { allowed?: boolean; status?: { message?: string } } }
  t.equal(refused.response?.allowed, false, '--workers 2: a worker refuses the example review')
  t.match(refused.response?.status?.message ?? '', /command-missing/)
  t.match(workers.ended.stderr, /"workers":2,"pids":\[\d+,\d+\],"msg":"listening"/, 'both workers started')
  t.notMatch(workers.ended.stderr, /unknown command/)
  t.equal(workers.ended.status, 0, 'the primary ends cleanly on SIGTERM')
  t.notMatch(workers.ended.stderr, STACK)
  // Stopped as soon as the first worker listens, maybe while the other still starts: no worker
  // may die of the primary's going with a stack trace.
  const early = await serveOnce(bin, [], u, undefined, ['--workers', '2'])
  t.equal(early.review?.status, 200, 'the first worker answered')
  t.notMatch(early.ended.stderr, STACK, 'no stack trace from a worker when stopped during start-up')
  t.notMatch(early.ended.stderr, /Unhandled|EPIPE/)
})

t.test('the live commands load their Kubernetes client without a warning: an API server that is not there is one line', async (t) => {
  const kubeconfig = join(tmp, 'kubeconfig.yaml')
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]',
      'users: [{name: u, user: {token: not-a-token}}]',
      'contexts: [{name: x, context: {cluster: c, user: u, namespace: default}}]',
      'current-context: x',
      '',
    ].join('\n'),
  )
  const r = await run(bin, ['explain', 'mypod', '--kubeconfig', kubeconfig], { cwd: tmp })
  t.equal(r.status, 2)
  t.match(r.stderr, /^pod-preflight explain: pod mypod: cannot reach https:\/\/127\.0\.0\.1:1/)
  t.notMatch(r.stderr, /Warning|single-executable|require\(\)/, 'no warning from a require() the executable cannot serve')
  t.notMatch(r.stderr, STACK)
  t.equal(r.stderr.trim().split('\n').length, 1, 'one line')
})

t.test("the rule reference is inside: rules ID prints the rule's failing and passing examples", async (t) => {
  const r = await run(bin, ['rules', 'command-missing'], { cwd: tmp })
  t.equal(r.status, 0, 'rules command-missing', { stderr: r.stderr })
  t.match(r.stdout, /At run time:/)
  t.match(r.stdout, /Fix:/)
  t.match(r.stdout, /image: busybox/, 'the examples are printed')
  t.match(r.stdout, /docs\/rules\/command-missing\.md/, 'and the link to the page')
})

t.test('both shipped policies are inside the executable', async (t) => {
  // The assets are stored as they are: each policy's text is in the file, whatever reads it.
  const exe = readFileSync(bin)
  for (const name of ['default', 'strict']) {
    const text = readFileSync(join(root, `policies/${name}.yaml`))
    t.ok(exe.includes(text), `policies/${name}.yaml is embedded whole`)
  }
  // And each can be chosen by name, with no file beside the executable.
  const u = await userDir(join(tmp, 'work-strict'))
  const strict = await run(bin, ['check', '-o', 'json', '--policy', 'builtin:strict', 'examples/'], { cwd: u.dir })
  t.equal(strict.status, 1, 'check --policy builtin:strict runs', { stderr: strict.stderr })
  t.notMatch(strict.stderr, STACK)
  const byDefault = await run(bin, ['check', '-o', 'json', 'examples/'], { cwd: u.dir })
  const rules = (s: string): string[] => [...new Set((JSON.parse(s) as { findings: { rule: string; action: string }[] }).findings.map((f) => `${f.rule}:${f.action}`))].sort()
  t.not(rules(strict.stdout).join(), rules(byDefault.stdout).join(), 'and judges otherwise than the default policy')
})

t.test('named kubectl-preflight (a copy, or a symlink as krew makes), it calls itself kubectl preflight', async (t) => {
  const copy = join(tmp, 'plugin/kubectl-preflight')
  mkdirSync(join(tmp, 'plugin'))
  copyFileSync(bin, copy)
  chmodSync(copy, 0o755)
  const link = join(tmp, 'link/kubectl-preflight')
  mkdirSync(join(tmp, 'link'))
  symlinkSync(bin, link)
  for (const exe of [copy, link]) {
    const help = await run(exe, ['--help'], { cwd: tmp })
    t.equal(help.status, 0)
    t.match(help.stdout, /^Usage: kubectl preflight <command>/m, `${exe}: help`)
    t.notMatch(help.stdout, /pod-preflight /)
    const bad = await run(exe, ['rules', 'comand-missing'], { cwd: tmp })
    t.equal(bad.status, 2)
    t.match(bad.stderr, /^kubectl preflight rules: unknown rule "comand-missing"; did you mean command-missing\? \('kubectl preflight rules' lists them\)/)
  }
  // Under its own name it stays pod-preflight.
  const own = await run(bin, ['--help'], { cwd: tmp })
  t.match(own.stdout, /^Usage: pod-preflight <command>/m)
})

t.test('the krew manifest rendered from the built archive carries its digest (as SHA256SUMS says)', async (t) => {
  const r = await run(process.execPath, [join(root, 'scripts/krew-manifest.mjs')], { cwd: tmp })
  t.equal(r.status, 0, 'rendered', { stderr: r.stderr })
  const sums = readFileSync(join(root, 'release/SHA256SUMS'), 'utf8')
  const digest = new RegExp(`^([0-9a-f]{64})  kubectl-preflight-${platform}\\.tar\\.gz$`, 'm').exec(sums)?.[1]
  t.ok(digest !== undefined)
  t.match(r.stdout, new RegExp(`^      sha256: "${digest ?? 'none'}"$`, 'm'))
  t.match(r.stdout, new RegExp(`^      uri: "https://github\\.com/pod-preflight/pod-preflight/releases/download/v${pkg.version.replace(/\./g, '\\.')}/kubectl-preflight-${platform}\\.tar\\.gz"$`, 'm'))
  t.match(r.stdout, /^  version: "v\d+\.\d+\.\d+"$/m)
})
