/**
 * What `check` of one small file loads, in the dist/ that `npm test` has just built: a pre-commit
 * hook starts it on every commit, so it loads neither ajv's compiler (the policy's validators are
 * compiled at build time, the Kubernetes schemas read without compiling), nor the yaml package (the
 * documents are read with js-yaml, the default policy at build time), nor what other commands
 * use (the cluster client, Fastify, pino, the analyzer, the webhook). And the generated
 * validators are those the sources make now.
 */
import t, { type Test } from 'tap'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import standaloneCode from 'ajv/dist/standalone/index.js'
import { root, run, userEnv, type Ended } from './helpers.js'
import { RULES } from '../../src/rules/index.js'
import { policySchema } from '../../src/policy/schema.js'
import { generatedValidatorsCode, GENERATED_FILE, SHIPPED_FILE } from '../../src/policy/validators.js'
import { shippedPoliciesData } from '../../src/policy/policy.js'
import { BUILTIN_POLICIES, builtinPolicyFile } from '../../src/policy/builtin.js'

const bin = join(root, 'dist/cli/bin.js')
const tmp = mkdtempSync(join(tmpdir(), 'pp-startup-'))
t.teardown(() => rmSync(tmp, { recursive: true, force: true }))

t.before(() => {
  if (!existsSync(bin)) throw new Error('dist/ is not built: npm run build first')
})

t.test('the generated validators and shipped policies in dist/ are what the sources generate', async (t) => {
  const built = readFileSync(join(root, 'dist/policy', GENERATED_FILE), 'utf8')
  t.ok(built === generatedValidatorsCode(policySchema, RULES, standaloneCode.default), `dist/policy/${GENERATED_FILE} is fresh (npm run build makes it)`)
  const texts = BUILTIN_POLICIES.map((name) => ({ text: readFileSync(builtinPolicyFile(name), 'utf8'), source: `policies/${name}.yaml` }))
  const shipped = readFileSync(join(root, 'dist/policy', SHIPPED_FILE), 'utf8')
  t.ok(shipped === `${JSON.stringify(shippedPoliciesData(texts, RULES))}\n`, `dist/policy/${SHIPPED_FILE} is fresh (npm run build makes it)`)
})

/** Every module a run of the built CLI loads: the files of dist/bundle/ stand for the modules they hold. */
async function loadedBy(t: Test, args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string; chunks: string[]; loaded: string[] }> {
  // ES modules through a loader hook, CommonJS ones from the require cache at exit.
  writeFileSync(join(tmp, 'hook.mjs'), "export async function load(url, context, next) { process.stderr.write('LOADED ' + url + '\\n'); return next(url, context) }\n")
  writeFileSync(
    join(tmp, 'preload.mjs'),
    "import { register, createRequire } from 'node:module'\nregister('./hook.mjs', import.meta.url)\nconst cache = createRequire(import.meta.url).cache\nprocess.on('exit', () => { for (const k of Object.keys(cache)) process.stderr.write('LOADED ' + k + '\\n') })\n",
  )
  const r = await run(process.execPath, ['--import', join(tmp, 'preload.mjs'), bin, ...args], { cwd: tmp, env: userEnv(env) })
  const urls = r.stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice(7))
  // The CLI runs from its bundle (scripts/bundle-cli.mjs), as dist/bundle.meta.json lists it.
  const meta = JSON.parse(readFileSync(join(root, 'dist/bundle.meta.json'), 'utf8')) as Record<string, string[]>
  const chunks = urls.filter((u) => u.includes('/dist/bundle/'))
  const own = `${root}/dist/`
  // The stub and the code cache's loader it imports (src/cli/code-cache.ts), which no module of the bundle imports.
  const stub = [`${own}cli/bin.js`, `${own}cli/code-cache.js`]
  t.same(urls.filter((u) => u.includes(own) && u.endsWith('.js') && !u.includes(`${own}bundle/`) && !stub.some((f) => u.endsWith(f))), [], 'no module of dist/ loaded beside the bundle (it would be loaded twice)')
  const loaded = [...urls]
  const unlisted: string[] = []
  for (const u of chunks) {
    const held = meta[u.slice(u.indexOf('/dist/') + 6)]
    if (held === undefined) unlisted.push(u)
    for (const m of held ?? []) loaded.push(m.startsWith('../') ? `${root}/${m.slice(3)}` : `${root}/dist/${m}`)
  }
  t.same(unlisted, [], 'every file of dist/bundle/ loaded is in dist/bundle.meta.json')
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.split('\n').filter((l) => !l.startsWith('LOADED ')).join('\n'), chunks, loaded }
}

const fromEsBundle = (t: Test, chunks: string[]): void => {
  t.ok(chunks.some((u) => u.endsWith('/dist/bundle/bin.js')), 'the CLI runs from dist/bundle/bin.js')
}

// Packages `check` of one file does without, whichever bundle it starts from.
const UNUSED_PACKAGES = [
  ["ajv's compiler", /node_modules\/ajv\/dist\/(core|ajv|compile\/index)\.js$/],
  ['the yaml package (documents are read with js-yaml, the default policy at build time)', /node_modules\/yaml\//],
  ['the cluster client', /node_modules\/@kubernetes\/client-node\//],
  ['Fastify', /node_modules\/fastify\//],
  ['pino', /node_modules\/pino\//],
] as const

t.test('check of one file, from the ES module bundle, loads no schema compiler and nothing of the other commands', async (t) => {
  const file = join(tmp, 'deploy.yaml')
  writeFileSync(
    file,
    'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web }\nspec:\n  selector: { matchLabels: { app: web } }\n  template:\n    metadata: { labels: { app: web } }\n    spec:\n      containers:\n        - name: web\n          image: nginx:1.27\n          unknownField: 1\n',
  )
  // The way Node.js before 20.19 starts it, and any Node.js when the code cache cannot be used (see the next test).
  const { stdout, stderr, chunks, loaded } = await loadedBy(t, ['check', file], { POD_PREFLIGHT_CODE_CACHE: '0', POD_PREFLIGHT_DEBUG: '1' })
  fromEsBundle(t, chunks)
  t.match(stderr, /code cache: not used: POD_PREFLIGHT_CODE_CACHE=0/)
  t.match(stdout, /schema-invalid/, 'the schema check ran and found the unknown field')
  // Node pays for each ES module file: the modules check loads are gathered in a few files.
  t.ok(chunks.length <= 10, `${chunks.length} files of dist/bundle/ loaded, not one per module or per mix of commands`)
  t.ok(loaded.length > 20, `${loaded.length} modules`)
  t.ok(loaded.some((m) => m.endsWith('dist/engine/evaluate.js')), 'the engine is among the modules the bundle holds')
  for (const [what, re] of [
    ['the policy validators (the default policy was validated at build time)', /dist\/policy\/validators\.generated\.cjs$/],
    ...UNUSED_PACKAGES,
    ['the analyzer', /dist\/analyzer\//],
    ['the webhook', /dist\/admission\//],
    ['the formats CI asks for', /dist\/cli\/format\/(sarif|junit|codequality|github)\.js$/],
  ] as const) {
    t.same(loaded.filter((m) => re.test(m)), [], `not loaded: ${what}`)
  }
})

t.test('check of one file starts from the code cache: the same report, no ES module of the bundle, no package it does without', async (t) => {
  const file = join(tmp, 'deploy.yaml')
  const { status, stdout, stderr, chunks, loaded } = await loadedBy(t, ['check', file], { POD_PREFLIGHT_DEBUG: '1' })
  t.match(stderr, /code cache: used \(.*dist\/bundle\/check\.cjs\.cache\)/, 'V8 took the cache the build made')
  t.same(chunks, [], 'no file of dist/bundle/ loaded as an ES module: it ran from check.cjs')
  for (const [what, re] of [['the policy validators', /dist\/policy\/validators\.generated\.cjs$/], ...UNUSED_PACKAGES] as const) {
    t.same(loaded.filter((m) => re.test(m)), [], `not loaded: ${what}`)
  }
  const es = await run(process.execPath, [bin, 'check', file], { cwd: tmp, env: userEnv({ POD_PREFLIGHT_CODE_CACHE: '0' }) })
  t.equal(stdout, es.stdout, 'the same report as from the ES module bundle')
  t.equal(status, es.status, 'the same status')
})

t.test('check from the code cache and from the ES module bundle: the same output, errors and status, in every format', async (t) => {
  writeFileSync(join(tmp, 'bad.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: x\n')
  const examples = join(root, 'examples')
  const runs: { args: string[]; stdin?: string }[] = [
    ...['text', 'json', 'yaml', 'sarif', 'junit', 'codequality', 'github'].map((f) => ({ args: ['check', '-o', f, examples] })),
    { args: ['check', '--show-info', examples, 'bad.yaml'] },
    { args: ['check', 'missing.yaml'] },
    { args: ['check', '--no-such-option'] },
    { args: ['check', '--help'] },
  ]
  for (const { args } of runs) {
    const cached = await run(process.execPath, [bin, ...args], { cwd: tmp, env: userEnv({ POD_PREFLIGHT_DEBUG: '1' }) })
    const es = await run(process.execPath, [bin, ...args], { cwd: tmp, env: userEnv({ POD_PREFLIGHT_CODE_CACHE: '0' }) })
    const what = args.join(' ')
    t.match(cached.stderr, /^pod-preflight: code cache: used/, `${what}: from the cache`)
    t.equal(cached.stdout, es.stdout, `${what}: the same output`)
    t.equal(cached.stderr.replace(/^pod-preflight: code cache: .*\n/, ''), es.stderr, `${what}: the same errors`)
    t.equal(cached.status, es.status, `${what}: the same status`)
  }
})

t.test('a copy of dist/ elsewhere starts check from the cache; with the bundle edited, from the ES module bundle', async (t) => {
  const copy = join(tmp, 'copy')
  const cp = await run('cp', ['-r', join(root, 'dist'), copy], { cwd: tmp })
  t.equal(cp.status, 0, 'copied')
  const help = async (): Promise<Ended> => run(process.execPath, [join(copy, 'cli/bin.js'), 'check', '--help'], { cwd: tmp, env: userEnv({ POD_PREFLIGHT_DEBUG: '1' }) })
  const moved = await help()
  t.match(moved.stderr, /code cache: used/, 'the cache does not depend on where the files are')
  t.match(moved.stdout, /^Usage: .* check /m)
  // One character changed, the length kept: only the cache's hash of the bundle tells.
  const cjs = join(copy, 'bundle/check.cjs')
  const text = readFileSync(cjs, 'latin1')
  const at = text.indexOf('check manifest files against the rules')
  t.ok(at > 0, 'a text of the bundle to change')
  writeFileSync(cjs, `${text.slice(0, at)}Check${text.slice(at + 5)}`, 'latin1')
  const edited = await help()
  t.match(edited.stderr, /code cache: not used: made for another V8 version, architecture or bundle/)
  t.equal(edited.status, 0)
  t.match(edited.stdout, /^Usage: .* check /m, "check's help, from the other bundle")
})

t.test('check with a policy of its own validates it with the validators generated at build time', async (t) => {
  const file = join(tmp, 'pod.yaml')
  writeFileSync(file, 'apiVersion: v1\nkind: Pod\nmetadata: { name: web }\nspec:\n  containers:\n    - name: web\n      image: nginx:1.27\n')
  const policy = join(tmp, 'policy.yaml')
  writeFileSync(policy, 'apiVersion: pod-preflight/v1\nkind: Policy\nrules:\n  schema-invalid: off\n  init-container-never-exits: { action: warn, params: { minSleepSeconds: 0 } }\n')
  const { stderr, loaded } = await loadedBy(t, ['check', '--policy', policy, file], { POD_PREFLIGHT_CODE_CACHE: '0' })
  t.match(stderr, /policy\.yaml:5: rules\.init-container-never-exits\.params\.minSleepSeconds: must be >= 1/, 'the parameter out of range is reported, with its line')
  t.ok(loaded.some((m) => m.endsWith(`dist/policy/${GENERATED_FILE}`)), 'the generated validators')
  t.same(loaded.filter((m) => /node_modules\/ajv\/dist\/(core|ajv|compile\/index)\.js$/.test(m)), [], "not ajv's compiler")
})

t.test('--version loads neither the rules, nor the engine, nor a YAML writer', async (t) => {
  const { stdout, stderr, chunks, loaded } = await loadedBy(t, ['--version'], { POD_PREFLIGHT_DEBUG: '1' })
  fromEsBundle(t, chunks)
  t.notMatch(stderr, /code cache/, 'only check asks for the code cache')
  t.same(loaded.filter((m) => m.endsWith('/dist/cli/code-cache.js')), [], 'and only check loads its module')
  t.match(stdout, /^pod-preflight \d+\.\d+\.\d+/)
  t.same(loaded.filter((m) => /dist\/(rules|engine|input)\//.test(m)), [], 'nothing of check')
  t.same(loaded.filter((m) => /node_modules\/yaml\//.test(m)), [], 'not the yaml package (only -o yaml needs it)')
})
