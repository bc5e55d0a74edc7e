// The last step of `npm run build`: the CLI's modules in dist/ bundled into a few files, so that
// `pod-preflight check` of one file starts as fast as it can (a pre-commit hook starts it per
// commit). Node resolves, reads and compiles every ES module separately; the hundred-odd modules
// of `check` cost more than their code. esbuild joins them:
//
//   dist/bundle/bin.js          the entry, which loads the CLI's main module;
//   dist/bundle/chunk-*.js      the modules, in chunks shared by the commands and parts loaded
//                               with import() (a command, the webhook, the analyzer, SARIF...),
//                               so a command still loads only what it uses;
//   dist/bundle/check.cjs       the whole CLI again as one CommonJS file, and check.cjs.cache,
//                               what V8 compiled while it ran `check` once here: `check` starts
//                               from them when it can (src/cli/code-cache.ts says when);
//   dist/bundle.meta.json       which modules of dist/ each file of dist/bundle/ holds;
//   dist/cli/bin.js             replaced by a stub that starts `check` from the code cache, or
//                               imports dist/bundle/bin.js, so the package's bin entries and
//                               `node dist/cli/bin.js` stay as they were.
//
// The other modules of dist/ stay as tsc wrote them, for the programs that import them (the
// conformance runner, the tests). Packages stay in node_modules and are loaded as they were, but
// for commander, js-yaml and picomatch, which `check` loads and which are bundled with it.
//
// A module that finds files beside itself (the policies, the schemas, build-info.json, the
// generated validators) does so from import.meta.url: in a bundle that would be the bundle's URL,
// so each module's import.meta.url is rewritten to the URL its own file in dist/ has.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join, relative, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'

const root = fileURLToPath(new URL('../', import.meta.url))
const dist = join(root, 'dist')
const out = join(dist, 'bundle')
const entry = join(dist, 'cli/bin.js')
const say = (m) => process.stderr.write(`bundle: ${m}\n`)

/** Packages bundled in; every other bare import stays an import of node_modules. */
const BUNDLED = new Set(['commander', 'js-yaml', 'picomatch'])

const packageName = (spec) => {
  const parts = spec.split('/')
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

const posix = (p) => p.split(sep).join('/')

// commander loads node:child_process for its executable subcommands, which pod-preflight does not
// have; about 5 ms of every start. Loaded when spawn is first called instead. The line is matched
// exactly, so a commander that changes it fails the build rather than bundling unpatched.
const COMMANDER_CHILD_PROCESS = "const childProcess = require('node:child_process');"
const COMMANDER_LAZY = "const childProcess = { spawn: (...args) => require('node:child_process').spawn(...args) };"

/**
 * The build's plugin. `inject`: the modules (absolute paths) that import the virtual module
 * `pod-preflight:core`, which imports every module of `core` (paths relative to the root, so that
 * no absolute path, a drive letter on Windows, is taken for a package name; see below).
 */
const makePlugin = (core = [], inject = new Set(), base = 'import.meta.url') => ({
  name: 'pod-preflight-cli',
  setup(b) {
    b.onResolve({ filter: /^pod-preflight:core$/ }, () => ({ path: 'core', namespace: 'pod-preflight' }))
    b.onLoad({ filter: /.*/, namespace: 'pod-preflight' }, () => ({ contents: core.map((m) => `import ${JSON.stringify(m)}\n`).join(''), loader: 'js', resolveDir: root }))
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:')) return { path: args.path, external: true }
      if (BUNDLED.has(packageName(args.path))) return undefined
      return { path: args.path, external: true }
    })
    b.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8')
      if (!text.includes(COMMANDER_CHILD_PROCESS)) throw new Error(`${args.path} no longer has the line the bundle makes lazy: ${COMMANDER_CHILD_PROCESS}`)
      return { contents: text.replace(COMMANDER_CHILD_PROCESS, COMMANDER_LAZY), loader: 'js' }
    })
    b.onLoad({ filter: /\.js$/ }, (args) => {
      if (!args.path.startsWith(dist + sep) || args.path.startsWith(out + sep)) return undefined
      let text = readFileSync(args.path, 'utf8')
      const core = inject.has(args.path)
      if (!core && !text.includes('import.meta.url')) return undefined
      // Every file of dist/bundle/ is directly in it, so this path holds from any of them.
      const own = JSON.stringify(posix(relative(out, args.path)))
      text = text.replaceAll('import.meta.url', `new URL(${own}, ${base}).href`)
      return { contents: core ? `import 'pod-preflight:core';\n${text}` : text, loader: 'js' }
    })
  },
})

const STUB_MARK = "'../bundle/bin.js'"
if (readFileSync(entry, 'utf8').includes(STUB_MARK)) {
  say('dist/cli/bin.js is already the stub of an earlier bundle: npm run build compiles the sources again first')
  process.exit(1)
}
const options = {
  absWorkingDir: root,
  entryPoints: { bin: entry },
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Whitespace and syntax only: names stay, so a stack trace a user reports still reads.
  minifyWhitespace: true,
  minifySyntax: true,
  chunkNames: 'chunk-[hash]',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  // The CommonJS modules bundled (commander) call require(); an ES module has none, so one is made.
  banner: { js: "import { createRequire as __ppCreateRequire } from 'node:module'; const require = __ppCreateRequire(import.meta.url);" },
}

// Fewer files for `check`. esbuild puts each module in the chunk of the set of entries (the CLI
// and every import() target: a command, the webhook's workers, an output format) that reach it,
// so the modules `check` loads were spread over some 20 chunks, one per mix of commands sharing
// them, and Node 20 pays about 0.7 ms for each ES module file it loads. Every import() target
// but the light ones is made to import all of what `check` loads (`pod-preflight:core`), so those
// modules are reached by the same entries and land in a few chunks: `check` loads 7 files instead
// of 23. The commands that do not judge manifests (install, doctor, snapshot) load the rules too,
// some 30 ms on commands that talk to an API server. The light ones keep their own: the CLI's
// main module (every command, `--help`), `version` and `completion` (a shell's start-up).
/** A module of dist/ as esbuild's metafile names it: its path from the root. */
const key = (m) => posix(relative(root, join(dist, m)))
const LIGHT = new Set(['cli/main.js', 'cli/commands/version.js', 'cli/commands/completion.js'].map(key))
const pass1 = await build({ ...options, write: false, plugins: [makePlugin()] })
const inputs = pass1.metafile.inputs
/** The modules reached from `from` by static imports (keys of the metafile: paths from root). */
const reach = (from) => {
  const seen = new Set([from])
  const todo = [from]
  while (todo.length > 0) {
    for (const i of inputs[todo.pop()]?.imports ?? []) {
      if (i.external || i.kind !== 'import-statement' || seen.has(i.path)) continue
      seen.add(i.path)
      todo.push(i.path)
    }
  }
  return seen
}
const checkKey = key('cli/commands/check.js')
for (const k of [checkKey, ...LIGHT]) if (inputs[k] === undefined) throw new Error(`${k} is not in the CLI's module graph`)
// Our own modules only: the packages bundled in come with the modules that import them (and one
// of them declares itself free of side effects, so a bare import of it would be dropped).
const ours = `${key('')}/`
const core = [...reach(checkKey)].filter((k) => k !== checkKey && k.startsWith(ours))
const targets = new Set()
for (const v of Object.values(inputs)) for (const i of v.imports) if (i.kind === 'dynamic-import' && !i.external && inputs[i.path] !== undefined) targets.add(i.path)
const inject = new Set([...targets].filter((t) => !LIGHT.has(t)).map((k) => join(root, k)))

rmSync(out, { recursive: true, force: true })
const result = await build({ ...options, plugins: [makePlugin(core.map((k) => `./${k}`), inject)] })

const meta = {}
/** Records which modules of dist/ the output `file` holds (paths from dist/). */
const hold = (file, o) => {
  meta[posix(relative(dist, join(root, file)))] = Object.keys(o.inputs).map((i) => posix(relative(dist, join(root, i)))).sort()
}
for (const [file, o] of Object.entries(result.metafile.outputs)) if (file.endsWith('.js')) hold(file, o)

// The same CLI as one CommonJS file, for `check` started from V8's code cache (src/cli/code-cache.ts).
// No splitting (esbuild splits ES modules only): a part loaded with import() is in the file too, and
// runs when it is first imported, as before; its code is only compiled when it is first called.
const cjsFile = join(out, 'check.cjs')
const cjs = await build({
  ...options,
  splitting: false,
  format: 'cjs',
  outdir: undefined,
  outfile: cjsFile,
  chunkNames: undefined,
  // The URL of this file, for the import.meta.url each module is given (see the plugin).
  banner: { js: "var __ppBase = require('node:url').pathToFileURL(__filename).href;" },
  // ASCII (esbuild's default, said here because the stub reads the file as latin1 and the recorder refuses anything else).
  charset: 'ascii',
  // Anything still reading import.meta would find it empty in CommonJS: refused, not bundled wrong.
  logOverride: { 'empty-import-meta': 'error' },
  // import() of a package becomes require(): in a script V8 restored from its code cache, import()
  // fails (Node 20 does not carry the script's import callback into cached functions). The cluster
  // client is an ES module: the stub uses this file only where require() can load one.
  supported: { 'dynamic-import': false },
  plugins: [makePlugin([], new Set(), '__ppBase')],
})
for (const [file, o] of Object.entries(cjs.metafile.outputs)) {
  const dynamic = o.imports.filter((i) => i.kind === 'dynamic-import')
  if (dynamic.length > 0) throw new Error(`${file} still has import() of ${dynamic.map((i) => i.path).join(', ')}, which fails in a script restored from the code cache`)
  if (file.endsWith('.cjs')) hold(file, o)
}
writeFileSync(join(dist, 'bundle.meta.json'), `${JSON.stringify(meta, null, 1)}\n`)

writeFileSync(
  entry,
  '#!/usr/bin/env node\n' +
    "// The CLI's modules are bundled into ../bundle/ (scripts/bundle-cli.mjs); dist/bundle.meta.json lists what each file holds.\n" +
    '// `check` starts from ../bundle/check.cjs with the code cache beside it when it can (./code-cache.js says when); otherwise, and every other command, from ../bundle/bin.js.\n' +
    "// The other commands do not even load ./code-cache.js (it loads node:crypto and node:vm).\n" +
    "const cached = process.argv[2] === 'check' && (await import('./code-cache.js')).startFromCodeCache(new URL('../bundle/check.cjs', import.meta.url), process.argv, process.env)\n" +
    `if (!cached) await import(${STUB_MARK})\n`,
)
chmodSync(entry, 0o755)

// What V8 compiles while `check` reads a few usual workloads, kept for the next starts. Any run
// would do for correctness (a function the cache lacks is compiled when called); this one covers
// the reader, the engine, the rules on containers, init containers and probes, and the text report.
const sampleDir = mkdtempSync(join(tmpdir(), 'pod-preflight-cache-'))
try {
  const sample = join(sampleDir, 'workloads.yaml')
  writeFileSync(
    sample,
    [
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web, namespace: shop, labels: { app: web } }\nspec:\n  replicas: 2\n  selector: { matchLabels: { app: web } }\n  template:\n    metadata: { labels: { app: web } }\n    spec:\n      initContainers:\n        - name: migrate\n          image: registry.example.com/shop/migrate:1.4.2\n          command: [sh, -c, "./migrate --to latest && echo done"]\n      containers:\n        - name: web\n          image: nginx:latest\n          ports: [{ containerPort: 8080 }]\n          env: [{ name: JAVA_OPTS, value: "-Xmx2g" }, { name: MODE, valueFrom: { configMapKeyRef: { name: web-config, key: mode } } }]\n          resources: { requests: { cpu: 100m, memory: 256Mi }, limits: { memory: 1Gi } }\n          livenessProbe: { httpGet: { path: /healthz, port: 8080 }, periodSeconds: 1, failureThreshold: 1 }\n          readinessProbe: { tcpSocket: { port: 8080 } }\n',
      'apiVersion: batch/v1\nkind: CronJob\nmetadata: { name: report }\nspec:\n  schedule: "0 3 * * *"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: OnFailure\n          containers:\n            - { name: report, image: "busybox:1.36", args: ["sleep 10; echo $(HOME)"] }\n',
      'apiVersion: v1\nkind: Service\nmetadata: { name: web, namespace: shop }\nspec:\n  selector: { app: web }\n  ports: [{ port: 80, targetPort: 8080 }]\n',
    ].join('---\n'),
  )
  const recorder = `import { recordCodeCache } from ${JSON.stringify(pathToFileURL(join(dist, 'cli/code-cache.js')).href)}\nrecordCodeCache(${JSON.stringify(cjsFile)}, ${JSON.stringify(entry)}, ['check', 'workloads.yaml'])\n`
  const env = { ...process.env }
  delete env['NODE_OPTIONS']
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', recorder], { cwd: sampleDir, env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' })
  // check ends with 1 when it denies something (the sample has findings), and so would a thrown
  // error, which writes to standard error: a run that wrote anything there is refused too.
  if ((r.status !== 0 && r.status !== 1) || r.stderr !== '' || !existsSync(`${cjsFile}.cache`)) throw new Error(`recording the code cache: check ended with ${r.status ?? r.signal}: ${r.stderr}`)
} finally {
  rmSync(sampleDir, { recursive: true, force: true })
}
say(`${inject.size} of ${targets.size} import() targets share the ${core.length} modules of check`)
say(`${Object.keys(meta).length} files in ${posix(relative(root, out))}/ from ${new Set(Object.values(meta).flat()).size} modules`)
