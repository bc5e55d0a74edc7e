/**
 * The npm package as a user gets it: `npm pack`, then `npm install -g` of the tarball into a
 * fresh prefix (dependencies from the npm cache, the registry only for what the cache lacks),
 * with no engine warning, and check, explain and serve run from the installed bin with only the
 * package's declared dependencies beside it.
 */
import t from 'tap'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import semver from 'semver'
import { root, run, serveOnce, STACK, userDir, userEnv } from './helpers.js'

const tmp = mkdtempSync(join(tmpdir(), 'pp-pack-'))
t.teardown(() => rmSync(tmp, { recursive: true, force: true }))
const prefix = join(tmp, 'prefix')
const installed = join(prefix, 'lib/node_modules/pod-preflight')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; engines: { node: string } }

// npm itself runs with the caller's environment (its cache and registry settings), minus the
// variables an enclosing `npm test` sets for its own run.
const npmEnv = userEnv({ HOME: process.env['HOME'] ?? '/root', npm_config_update_notifier: 'false' })

let tarball = ''
let installOutput = ''

t.before(async () => {
  // The dist/ that `npm test` has just built; --ignore-scripts keeps `prepare` from rebuilding it
  // while other test files run it.
  if (!existsSync(join(root, 'dist/cli/bin.js'))) throw new Error('dist/ is not built: npm run build first')
  const packed = await run('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', tmp], { cwd: root, env: npmEnv, deadlineMs: 300_000 })
  if (packed.status !== 0) throw new Error(`npm pack failed: ${packed.stderr}`)
  tarball = join(tmp, packed.stdout.trim().split('\n').pop() ?? '')
  const inst = await run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: tmp, env: npmEnv, deadlineMs: 300_000 })
  installOutput = inst.stdout + inst.stderr
  if (inst.status !== 0) throw new Error(`npm install -g failed:\n${installOutput}`)
})

t.test('the tarball holds the built CLI, both policies and the README, and nothing from the development tree', async (t) => {
  const list = await run('tar', ['tzf', tarball], { cwd: tmp })
  const files = list.stdout.split('\n').filter((l) => l !== '')
  for (const f of ['package/dist/cli/bin.js', 'package/dist/build-info.json', 'package/dist/schema/data/kubernetes-1.36.json', 'package/dist/policy/validators.generated.cjs', 'package/dist/policy/policies.generated.json', 'package/policies/default.yaml', 'package/policies/strict.yaml', 'package/README.md', 'package/package.json']) {
    t.ok(files.includes(f), `${f} is packed`)
  }
  t.notOk(files.some((f) => /^package\/(src|test|node_modules|bench|scripts|\.ci)\//.test(f)), 'no sources, tests, scripts or modules')
  t.notOk(files.some((f) => /^package\/certs\/.*\.(key|crt)$/.test(f)), 'no certificate or key')
})

t.test('npm install -g of the tarball prints no engine warning', async (t) => {
  t.notMatch(installOutput, /EBADENGINE|Unsupported engine|engine/i, 'no engine warning')
  t.match(installOutput, /added \d+ packages?/, 'npm reports the install')
})

t.test("every installed dependency supports every Node version the package's engines admit (and Node 22)", async (t) => {
  const ours = pkg.engines.node
  t.ok(semver.satisfies('22.0.0', ours), `${ours} admits Node 22`)
  t.ok(semver.satisfies(process.version, ours), `${ours} admits the Node running this test`)
  const bad: string[] = []
  let seen = 0
  // Every package.json of a package under node_modules, scoped ones included; linear in the tree.
  const visit = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      if (name.startsWith('.')) continue
      if (name.startsWith('@')) {
        visit(join(dir, name))
        continue
      }
      const file = join(dir, name, 'package.json')
      if (statSync(file, { throwIfNoEntry: false }) === undefined) continue
      const p = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string; engines?: { node?: string } }
      seen++
      const theirs = p.engines?.node
      if (theirs !== undefined && !semver.subset(ours, theirs)) bad.push(`${p.name ?? name}@${p.version ?? '?'} wants node ${theirs}`)
      const nested = join(dir, name, 'node_modules')
      if (statSync(nested, { throwIfNoEntry: false })?.isDirectory() === true) visit(nested)
    }
  }
  visit(join(installed, 'node_modules'))
  t.ok(seen > 50, `the installed tree was read (${seen} packages)`)
  t.same(bad, [], `no dependency asks for more than ${ours}`)
})

t.test('npm ls in the installed package: complete, and light-my-request is the one that runs on Node 20', async (t) => {
  const ls = await run('npm', ['ls', '--omit=dev', '--all', '--json'], { cwd: installed, env: npmEnv })
  t.equal(ls.status, 0, 'npm ls finds nothing missing or invalid', { stderr: ls.stderr })
  const tree = JSON.stringify(JSON.parse(ls.stdout))
  t.match(tree, /"light-my-request":\{"version":"6\.6\.\d+"/, 'light-my-request 6.6 (7.x and 6.8 need cookie 2, which needs Node 22)')
  t.notMatch(tree, /"cookie":\{"version":"2\./, 'no cookie 2.x')
})

t.test('check, explain and serve run from the installed bin, in a directory of their own', async (t) => {
  const bin = join(prefix, 'bin/pod-preflight')
  const u = await userDir(join(tmp, 'work'))

  const version = await run(bin, ['version'], { cwd: u.dir })
  t.equal(version.status, 0, 'version', { stderr: version.stderr })
  t.match(version.stdout, pkg.version, 'version prints the package version')

  const check = await run(bin, ['check', 'examples/'], { cwd: u.dir })
  t.equal(check.status, 1, 'check denies the broken examples', { stderr: check.stderr })
  t.match(check.stdout, /DENY\s+command-missing/, 'the default policy (shipped in policies/) is found and applied')
  t.notMatch(check.stderr, STACK)
  // npm gives every file of the package one modification time: the bundle and its code cache still agree.
  const cached = await run(bin, ['check', 'examples/'], { cwd: u.dir, env: userEnv({ POD_PREFLIGHT_DEBUG: '1' }) })
  t.match(cached.stderr, /^pod-preflight: code cache: used/, 'check starts from the code cache the package carries', { stderr: cached.stderr })
  t.equal(cached.stdout, check.stdout, 'with the same report')

  const explain = await run(bin, ['explain', '-f', u.failedPod], { cwd: u.dir })
  t.equal(explain.status, 0, 'explain -f reads the failed pod', { stderr: explain.stderr })
  t.match(explain.stdout, /\[exit-no-foreground-process\] container toolbox, exit 0/)

  const served = await serveOnce(bin, [], u)
  t.ok(served.port !== undefined && served.port > 0, 'serve listened', { stderr: served.ended.stderr.slice(0, 4000) })
  t.equal(served.healthz, 200, '/healthz answers 200')
  t.equal(served.review?.status, 200, 'the review is answered')
  const answer = JSON.parse(served.review?.text ?? '{}') as { response?: { allowed?: boolean; status?: { message?: string } } }
  t.equal(answer.response?.allowed, false, 'busybox without a command is refused')
  t.match(answer.response?.status?.message ?? '', /command-missing/)
  t.equal(served.ended.status, 0, 'serve ends cleanly on SIGTERM')
  t.notMatch(served.ended.stderr, STACK)
})

t.test('installed as kubectl-preflight, it calls itself kubectl preflight', async (t) => {
  const bin = join(prefix, 'bin/kubectl-preflight')
  const help = await run(bin, ['--help'], { cwd: tmp })
  t.equal(help.status, 0)
  t.match(help.stdout, /^Usage: kubectl preflight /m)
  t.notMatch(help.stdout, /pod-preflight /, 'no pod-preflight in the help')
  const bad = await run(bin, ['check', '--no-such-flag'], { cwd: tmp })
  t.equal(bad.status, 2)
  t.match(bad.stderr, /^kubectl preflight check: /, 'errors name kubectl preflight too')
  const checkHelp = await run(bin, ['check', '--help'], { cwd: tmp })
  t.match(checkHelp.stdout, /^Usage: kubectl preflight check /m)
})
