/**
 * `check` started from V8's code cache. A pre-commit hook starts `pod-preflight check` on every
 * commit; of its start-up, V8 compiling our half megabyte of JavaScript (the module's top level,
 * then each function on its first call) was the largest part left. Node 20 has no compile cache
 * for ES modules (Node 22's `module.enableCompileCache` is one), but `Script` takes V8's
 * cached data for a script. So `npm run build` also bundles the whole CLI as one CommonJS file,
 * dist/bundle/check.cjs (scripts/bundle-cli.mjs), runs `check` once with it, and keeps what V8
 * compiled in dist/bundle/check.cjs.cache. The stub dist/cli/bin.js asks `startFromCodeCache`
 * first; when it says no, the CLI starts as before, from the ES module bundle.
 *
 * It says no (and nothing is compiled twice) unless every one of these holds:
 * - the command is `check` (the others start from the ES module bundle, which loads only what
 *   they use: `--version` or completion would load the whole cache to print a line);
 * - POD_PREFLIGHT_CODE_CACHE is not `0`;
 * - this Node.js can `require()` an ES module (`process.features.require_module`, Node 20.19
 *   and later): the CommonJS bundle loads the packages from node_modules with `require()` (even
 *   those the sources load with import(), see `script`), and the cluster client is an ES module;
 * - both files are there, and the cache's first line names this V8 version, this architecture
 *   and the SHA-256 of the bundle as it is now (about a millisecond for the megabyte): a bundle
 *   edited since the build, by even one character, is not run with code compiled from another.
 *   V8 itself also refuses data made with other V8 flags (`--max-old-space-size`, `--stack-size`
 *   in NODE_OPTIONS, say), and then compiles the source as usual: a refused cache costs time,
 *   never correctness.
 */
import { isAscii } from 'node:buffer'
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Script } from 'node:vm'

/** The environment variable that turns the code cache off (`0`), e.g. to tell whether it is to blame. */
export const CODE_CACHE_ENV = 'POD_PREFLIGHT_CODE_CACHE'
/** The cache file's first line begins so; then the V8 version, the architecture and the bundle's SHA-256. */
const MAGIC = 'pod-preflight code cache v1'

/** What the bundle's source is wrapped in: the arguments Node gives a CommonJS module. */
const HEAD = '(function (exports, require, module, __filename, __dirname) {'
const TAIL = '\n})'

/** The cache's first line for this process and this bundle. */
const headerLine = (bundle: Buffer): string => `${MAGIC} ${process.versions.v8} ${process.arch} ${createHash('sha256').update(bundle).digest('hex')}\n`

function read(path: string): Buffer | undefined {
  try {
    return readFileSync(path)
  } catch {
    return undefined
  }
}

/** The bundle's text. The build makes it ASCII (esbuild escapes the rest), so latin1 reads it as UTF-8 would, without decoding. */
const text = (bundle: Buffer): string => bundle.toString('latin1')

function script(bundleFile: string, source: string, cachedData?: Buffer): Script {
  // A bundle run directly with node begins with a #! line, which is not JavaScript inside a function.
  const body = source.startsWith('#!') ? `//${source}` : source
  // No import() callback: in functions V8 restores from a code cache, Node 20 loses it and import()
  // fails. The build turns every import() of the bundle into require() and refuses a bundle with one.
  return new Script(HEAD + body + TAIL, { filename: bundleFile, ...(cachedData !== undefined ? { cachedData } : {}) })
}

function run(s: Script, bundleFile: string): void {
  const fn = s.runInThisContext() as (exports: object, require: NodeJS.Require, module: object, filename: string, dirname: string) => void
  const module = { exports: {} }
  fn(module.exports, createRequire(bundleFile), module, bundleFile, dirname(bundleFile))
}

/**
 * Runs the CLI from `bundle` with its code cache when everything above holds, and says whether
 * it did; when it did not, nothing was run or compiled.
 */
export function startFromCodeCache(bundle: URL, argv: readonly string[], env: NodeJS.ProcessEnv): boolean {
  if (argv[2] !== 'check') return false
  // With POD_PREFLIGHT_DEBUG set, one line on standard error says whether the cache was used, or why not.
  // The paths in it are the installation's; their control characters are escaped all the same.
  const say = (what: string): void => {
    if (env['POD_PREFLIGHT_DEBUG']) process.stderr.write(`pod-preflight: code cache: ${what.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}\n`)
  }
  if (env[CODE_CACHE_ENV] === '0') {
    say(`not used: ${CODE_CACHE_ENV}=0`)
    return false
  }
  if ((process.features as { require_module?: boolean }).require_module !== true) {
    say('not used: this Node.js cannot require() an ES module (20.19 and later can)')
    return false
  }
  const bundleFile = fileURLToPath(bundle)
  const cache = read(`${bundleFile}.cache`)
  const source = cache === undefined ? undefined : read(bundleFile)
  if (cache === undefined || source === undefined) {
    say(`not used: ${cache === undefined ? `${bundleFile}.cache` : bundleFile} cannot be read`)
    return false
  }
  const expected = headerLine(source)
  if (cache.length <= expected.length || cache.toString('latin1', 0, expected.length) !== expected) {
    say(`not used: made for another V8 version, architecture or bundle (this is V8 ${process.versions.v8}, ${process.arch}; the bundle may have been changed since the build)`)
    return false
  }
  const s = script(bundleFile, text(source), cache.subarray(expected.length))
  say(s.cachedDataRejected === true ? 'refused by V8 (other V8 flags?); the bundle was compiled as usual' : `used (${bundleFile}.cache)`)
  run(s, bundleFile)
  return true
}

/**
 * For the build: runs the CLI from `bundleFile` with `args` as its command line, as the stub
 * would, and when the process exits writes what V8 compiled meanwhile to `bundleFile.cache`,
 * after its first line. The bundle must be ASCII (see `text`).
 */
export function recordCodeCache(bundleFile: string, stub: string, args: readonly string[]): void {
  const source = readFileSync(bundleFile)
  if (!isAscii(source)) throw new Error(`${bundleFile} is not ASCII: the code cache reads it as latin1`)
  const s = script(bundleFile, text(source))
  process.argv = [process.execPath, stub, ...args]
  process.on('exit', () => {
    writeFileSync(`${bundleFile}.cache`, Buffer.concat([Buffer.from(headerLine(source), 'latin1'), s.createCachedData()]))
  })
  run(s, bundleFile)
}
