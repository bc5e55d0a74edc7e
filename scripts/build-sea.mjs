// npm run build:sea: pod-preflight as one executable file for this platform (linux-x64 in CI),
// a Node.js single-executable application that needs no Node.js, npm or node_modules beside it.
//
//   1. esbuild bundles src/cli/bin.ts and every dependency into one CommonJS file (a SEA's main
//      script is CommonJS and can require only Node's built-in modules);
//   2. node --experimental-sea-config turns it into a preparation blob, with the shipped policies
//      as assets (src/policy/builtin.ts reads them with node:sea);
//   3. postject injects the blob into a copy of the node binary running this script.
//
// Output (release/, not packed by npm):
//   release/pod-preflight-linux-x64            the executable
//   release/kubectl-preflight-linux-x64.tar.gz the same file named kubectl-preflight, for krew
//   release/SHA256SUMS                         both digests
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, copyFileSync, createReadStream, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { buildInfo } from './build-info.mjs'

const root = fileURLToPath(new URL('../', import.meta.url))
const work = join(root, '.sea')
const out = join(root, 'release')
const platform = `${process.platform}-${process.arch}`
const say = (m) => process.stderr.write(`build:sea: ${m}\n`)

if (platform !== 'linux-x64') say(`building for ${platform}; CI and the krew manifest cover linux-x64`)
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 20 || (major === 20 && minor < 16)) {
  say(`Node.js ${process.versions.node} cannot build a single executable with assets; use 20.16 or later`)
  process.exit(1)
}

rmSync(work, { recursive: true, force: true })
mkdirSync(work, { recursive: true })
mkdirSync(out, { recursive: true })

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const info = { version: pkg.version, ...buildInfo() }

// Optional modules that dependencies try to require and do without (ws: bufferutil and
// utf-8-validate; node-fetch: encoding). Not installed, esbuild would leave a require() that
// Node refuses in a single executable with a warning on every run; bundled as what they are
// here, a module that is not there, the dependencies' try/catch takes its usual path quietly.
const OPTIONAL_ABSENT = /^(bufferutil|utf-8-validate|encoding)$/
const absentOptional = {
  name: 'absent-optional',
  setup(b) {
    b.onResolve({ filter: OPTIONAL_ABSENT }, (args) => ({ path: args.path, namespace: 'absent-optional' }))
    b.onLoad({ filter: /.*/, namespace: 'absent-optional' }, (args) => ({
      contents: `throw Object.assign(new Error(${JSON.stringify(`Cannot find module '${args.path}'`)}), { code: 'MODULE_NOT_FOUND' })`,
      loader: 'js',
    }))
  },
}

// 1. One CommonJS file. import.meta.url is the executable's own URL (a SEA's __filename is
// process.execPath); no code reads files beside it there: the policies come from the assets,
// and the version and build information are compiled in.
const bundle = join(work, 'pod-preflight.cjs')
await build({
  entryPoints: [join(root, 'src/cli/bin.ts')],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  target: `node${major}`,
  format: 'cjs',
  minify: true,
  keepNames: true,
  legalComments: 'none',
  logLevel: 'warning',
  define: {
    'import.meta.url': '__pod_preflight_url',
    __POD_PREFLIGHT_BUILD__: JSON.stringify(info),
  },
  banner: { js: "var __pod_preflight_url = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [absentOptional],
})
say(`bundled ${bundle}`)

// 2. The preparation blob, with the assets.
const assets = Object.fromEntries(['policies/default.yaml', 'policies/strict.yaml'].map((k) => [k, join(root, k)]))
// The Kubernetes schemas of the schema check (src/schema/kubernetes.ts reads them by this key).
for (const f of readdirSync(join(root, 'src/schema/data'))) if (f.endsWith('.json')) assets[`schema/data/${f}`] = join(root, 'src/schema/data', f)
const blob = join(work, 'sea-prep.blob')
const config = join(work, 'sea-config.json')
writeFileSync(config, `${JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true, assets }, null, 2)}\n`)
execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: 'inherit' })

// 3. Inject into a copy of this node binary.
const exe = join(out, `pod-preflight-${platform}`)
rmSync(exe, { force: true })
copyFileSync(process.execPath, exe)
chmodSync(exe, 0o755)
const postject = join(root, 'node_modules/postject/dist/cli.js')
const injected = spawnSync(process.execPath, [postject, exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'], { encoding: 'utf8' })
// LIEF, inside postject, warns about note sections of the node binary it does not touch.
const noise = /^warning: Can't find string offset for section name/
const said = `${injected.stdout}${injected.stderr}`.split('\n').filter((l) => l.trim() !== '' && !noise.test(l))
if (injected.status !== 0) {
  say(`postject failed:\n${said.join('\n')}`)
  process.exit(1)
}
say(`wrote ${exe}`)

// The krew archive: the executable named as kubectl finds plugins, and the license it is under
// (krew's index asks every plugin archive to carry one).
const stage = join(work, 'krew')
mkdirSync(stage, { recursive: true })
copyFileSync(exe, join(stage, 'kubectl-preflight'))
chmodSync(join(stage, 'kubectl-preflight'), 0o755)
copyFileSync(join(root, 'LICENSE'), join(stage, 'LICENSE'))
const archive = join(out, `kubectl-preflight-${platform}.tar.gz`)
execFileSync('tar', ['-czf', archive, '-C', stage, '--owner=0', '--group=0', '--numeric-owner', 'kubectl-preflight', 'LICENSE'])
say(`wrote ${archive}`)

const sha256 = (file) =>
  new Promise((resolve, reject) => {
    const h = createHash('sha256')
    createReadStream(file).on('data', (c) => h.update(c)).on('end', () => resolve(h.digest('hex'))).on('error', reject)
  })
const sums = []
for (const f of [exe, archive]) sums.push(`${await sha256(f)}  ${f.slice(out.length + 1)}`)
writeFileSync(join(out, 'SHA256SUMS'), `${sums.join('\n')}\n`)
rmSync(stage, { recursive: true, force: true })
