/**
 * The pre-commit hook (.pre-commit-hooks.yaml) called as pre-commit calls it: the package's
 * `pod-preflight` on PATH (pre-commit installs the package with npm -g into its environment),
 * the entry split as a shell would, the hook's args, then the file names pre-commit selected
 * by the hook's `types` appended, run from the repository root.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

const root = fileURLToPath(new URL('../../', import.meta.url))
const examples = join(root, 'examples')

interface Hook {
  id?: unknown
  name?: unknown
  entry?: unknown
  language?: unknown
  types?: unknown
  files?: unknown
  args?: unknown
  require_serial?: unknown
  pass_filenames?: unknown
}

const hooks = parse(readFileSync(join(root, '.pre-commit-hooks.yaml'), 'utf8')) as Hook[]
const hook = hooks.find((h) => h.id === 'pod-preflight')

t.before(() => {
  const b = spawnSync(process.execPath, [join(root, 'scripts/build-if-stale.mjs')], { cwd: root, encoding: 'utf8' })
  if (b.status !== 0) throw new Error(`build failed: ${b.stderr}`)
})

/** The entry as pre-commit splits it (shlex: whitespace, single and double quotes). */
function shlexSplit(s: string): string[] {
  const words: string[] = []
  const re = /'([^']*)'|"((?:\\.|[^"\\])*)"|(\S+)/g
  for (const m of s.matchAll(re)) words.push(m[1] ?? m[2]?.replace(/\\(.)/g, '$1') ?? m[3] ?? '')
  return words
}

/** identify's tags for the types this hook can name: by extension. */
function tags(file: string): Set<string> {
  const ext = extname(file).toLowerCase()
  const s = new Set<string>()
  if (ext === '.yaml' || ext === '.yml') s.add('yaml').add('text')
  if (ext === '.json') s.add('json').add('text')
  if (ext === '.md') s.add('markdown').add('text')
  return s
}

/** pre-commit's selection: every `types` tag present, `files` matching when given. */
function selected(files: string[]): string[] {
  const types = Array.isArray(hook?.types) ? (hook.types as string[]) : []
  const pattern = typeof hook?.files === 'string' ? new RegExp(hook.files) : undefined
  return files.filter((f) => types.every((ty) => tags(f).has(ty)) && (pattern === undefined || pattern.test(f)))
}

function repo(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ppf-repo-'))
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true })
    if (content.startsWith(examples)) cpSync(content, join(dir, name))
    else writeFileSync(join(dir, name), content)
  }
  return dir
}

/** `pod-preflight` as npm -g links it into the environment pre-commit puts first on PATH. */
function hookEnv(): Record<string, string> {
  const env = mkdtempSync(join(tmpdir(), 'ppf-node-env-'))
  mkdirSync(join(env, 'bin'))
  // npm links a bin and makes its target executable; tsc writes it without the x bits.
  chmodSync(join(root, 'dist/cli/bin.js'), 0o755)
  symlinkSync(join(root, 'dist/cli/bin.js'), join(env, 'bin', 'pod-preflight'))
  return { PATH: `${join(env, 'bin')}:${process.env['PATH'] ?? ''}`, HOME: env, NODE_VIRTUAL_ENV: env, PRE_COMMIT: '1' }
}

function runHook(dir: string, files: string[], args: string[] = []): { code: number | null; out: string; err: string; argv: string[] } {
  if (typeof hook?.entry !== 'string') throw new Error('no entry')
  const [cmd = '', ...rest] = shlexSplit(hook.entry)
  const argv = [...rest, ...args, ...selected(files)]
  const r = spawnSync(cmd, argv, { cwd: dir, env: hookEnv(), encoding: 'utf8' })
  return { code: r.status, out: r.stdout, err: r.stderr, argv }
}

t.test('the hook manifest: id, node, YAML files, file names passed', async (t) => {
  t.ok(hook !== undefined, 'a hook with id pod-preflight')
  t.equal(hook?.language, 'node')
  t.same(hook?.types, ['yaml'])
  t.match(hook?.entry, /^pod-preflight check$/, 'the bin the package installs, then the command')
  t.not(hook?.pass_filenames, false, 'file names are appended')
  t.equal(hook?.require_serial, true, 'one run for all files: batch rules see every object')
  const system = hooks.find((h) => h.id === 'pod-preflight-system')
  t.equal(system?.language, 'system', 'the same hook with the pod-preflight on PATH')
  for (const k of ['entry', 'types', 'require_serial'] as const) t.same(system?.[k], hook?.[k], `${k} as the node hook's`)
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> }
  t.equal(pkg.bin['pod-preflight'], 'dist/cli/bin.js', 'npm -g links this name')
  t.match(pkg.scripts['prepare'], /build/, "npm install in pre-commit's clone builds dist/ before npm pack")
})

const kubernetesFiles = {
  'k8s/broken-pod.yaml': join(examples, 'broken-pod.yaml'),
  'k8s/web.yml': join(examples, 'web-deployment.yaml'),
}

t.test('Kubernetes files: findings in the text format, status 1 on a deny; files of other types are not passed', async (t) => {
  const dir = repo({ ...kubernetesFiles, 'README.md': '# deploy\n', 'docs/notes.txt': 'kind: Pod\n' })
  const r = runHook(dir, ['README.md', 'docs/notes.txt', 'k8s/broken-pod.yaml', 'k8s/web.yml'])
  t.same(r.argv, ['check', 'k8s/broken-pod.yaml', 'k8s/web.yml'], 'pre-commit passes only the YAML files')
  t.equal(r.code, 1, r.err)
  t.match(r.out, /^Pod shop\/broken {2}k8s\/broken-pod\.yaml:2$/m)
  t.match(r.out, /DENY command-missing/)
  t.match(r.out, /3 objects checked in 2 files/)

  const clean = runHook(dir, ['k8s/web.yml'])
  t.equal(clean.code, 0, 'a clean commit passes')
})

t.test("the hook's args come before the file names", async (t) => {
  const dir = repo({ 'k8s/cron.yaml': join(examples, 'nightly-cronjob.yaml') })
  t.equal(runHook(dir, ['k8s/cron.yaml']).code, 0, 'warnings alone pass')
  const strict = runHook(dir, ['k8s/cron.yaml'], ['--fail-on', 'warn'])
  t.same(strict.argv, ['check', '--fail-on', 'warn', 'k8s/cron.yaml'])
  t.equal(strict.code, 1, 'args: [--fail-on, warn] fails on them')
})

t.test('YAML files that are not Kubernetes objects among the staged files', async (t) => {
  const others = {
    '.pre-commit-config.yaml': 'repos:\n  - repo: https://github.com/pod-preflight/pod-preflight\n    rev: v0.1.0\n    hooks:\n      - id: pod-preflight\n',
    '.github/workflows/ci.yml': 'name: ci\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm test\n',
    'chart/Chart.yaml': 'apiVersion: v2\nname: shop\nversion: 0.1.0\n',
    'chart/values.yaml': 'replicas: 2\nimage: {repository: nginx, tag: "1.27"}\n',
  }
  const dir = repo({ ...kubernetesFiles, ...others })
  const r = runHook(dir, [...Object.keys(others), ...Object.keys(kubernetesFiles)])
  t.equal(r.argv.length, 1 + Object.keys(others).length + 2, 'every one of them is YAML, so pre-commit passes them all')
  t.match(r.out, /DENY command-missing/, 'the manifests among them are still checked')
  t.match(r.out, /3 objects checked/)
  // Files without apiVersion and kind are skipped with a note; the commit fails on the deny only.
  t.equal(r.code, 1, r.out)
  for (const f of ['.pre-commit-config.yaml', '.github/workflows/ci.yml', 'chart/Chart.yaml', 'chart/values.yaml']) {
    t.match(r.out, new RegExp(`SKIP ${f.replace(/\./g, '\\.')}(:\\d+)?: `), `${f} is skipped with a note`)
  }
  t.notMatch(r.out, /input error/, 'none of them is an error')
})
