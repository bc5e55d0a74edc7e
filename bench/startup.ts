/**
 * The start-up of the built CLI as a pre-commit hook runs it: `check` of one small file (one
 * Deployment, default options, so with the schema check), against `node -e 0`, interleaved
 * (node, check, node, check...) so both see the same machine; the medians and their ratio.
 * Run alone with `npm run bench:startup` (it builds dist/ first); bench:check runs it too.
 * BENCH_STARTUP_COMPARE=path/to/other/dist/cli/bin.js adds another build (an earlier commit's) to
 * the same interleaved rounds, for a before/after in one run. The same rounds also start `check`
 * with POD_PREFLIGHT_CODE_CACHE=0: from the ES module bundle, as Node.js before 20.19 does, or any
 * Node.js whose V8 or flags the code cache was not made for (src/cli/code-cache.ts).
 */
import { performance } from 'node:perf_hooks'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { manifest } from './manifests.js'

export interface Startup {
  starts: number
  nodeMs: number
  checkMs: number
  ratio: number
  /** `check` started from the ES module bundle (the code cache turned off): its median and ratio. */
  esModules: { checkMs: number; ratio: number }
  /** The 1-minute load average before and after, to read the figures by. */
  load: [number, number]
  /** The other build's median and ratio to node -e 0, when one was given. */
  compare?: { bin: string; checkMs: number; ratio: number }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2
}

/** Undefined when dist/cli/bin.js is not built. */
export function measureStartup(starts: number, compareBin?: string): Startup | undefined {
  const bin = new URL('../dist/cli/bin.js', import.meta.url).pathname
  if (!existsSync(bin)) return undefined
  const dir = mkdtempSync(join(tmpdir(), 'ppf-bench-'))
  const small = join(dir, 'deploy.yaml')
  writeFileSync(small, manifest(3))
  const noCache = { ...process.env, POD_PREFLIGHT_CODE_CACHE: '0' }
  const run = (args: string[], env: NodeJS.ProcessEnv = process.env): number => {
    const t0 = performance.now()
    const r = spawnSync(process.execPath, args, { stdio: 'ignore', cwd: dir, env })
    if (r.status === null || r.status > 1) throw new Error(`node ${args.join(' ')} ended with ${r.status ?? r.signal}`)
    return performance.now() - t0
  }
  const before = loadavg()[0] ?? 0
  // One of each first, unmeasured: the file system cache.
  run(['-e', '0'])
  run([bin, 'check', small])
  run([bin, 'check', small], noCache)
  if (compareBin !== undefined) run([compareBin, 'check', small])
  const nodeTimes: number[] = []
  const cliTimes: number[] = []
  const esTimes: number[] = []
  const otherTimes: number[] = []
  for (let i = 0; i < starts; i++) {
    nodeTimes.push(run(['-e', '0']))
    cliTimes.push(run([bin, 'check', small]))
    esTimes.push(run([bin, 'check', small], noCache))
    if (compareBin !== undefined) otherTimes.push(run([compareBin, 'check', small]))
  }
  rmSync(dir, { recursive: true, force: true })
  const n = median(nodeTimes)
  const c = median(cliTimes)
  const round1 = (x: number): number => Math.round(x * 10) / 10
  const e = median(esTimes)
  const out: Startup = {
    starts,
    nodeMs: Math.round(n),
    checkMs: Math.round(c),
    ratio: Math.round((c / n) * 100) / 100,
    esModules: { checkMs: Math.round(e), ratio: Math.round((e / n) * 100) / 100 },
    load: [round1(before), round1(loadavg()[0] ?? 0)],
  }
  if (compareBin !== undefined) {
    const o = median(otherTimes)
    out.compare = { bin: compareBin, checkMs: Math.round(o), ratio: Math.round((o / n) * 100) / 100 }
  }
  return out
}

export function startupTable(s: Startup): string {
  const mark = s.ratio <= 2 ? 'met' : 'not met'
  const other = s.compare !== undefined ? `\nthe other build (${s.compare.bin}): ${s.compare.checkMs} ms, ${s.compare.ratio} × node -e 0\n` : ''
  return (
    `| start-up | node -e 0 | check of one file | ratio | load average |\n|---|---|---|---|---|\n| median of ${s.starts} | ${s.nodeMs} ms | ${s.checkMs} ms | ${s.ratio} (target ≤ 2: ${mark}) | ${s.load[0]} → ${s.load[1]} |\n` +
    `| the same, code cache off (POD_PREFLIGHT_CODE_CACHE=0: the ES module bundle) | | ${s.esModules.checkMs} ms | ${s.esModules.ratio} | |\n${other}`
  )
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const s = measureStartup(Math.max(15, Number(process.env['BENCH_STARTS'] ?? 21)), process.env['BENCH_STARTUP_COMPARE'])
  if (s === undefined) {
    process.stderr.write('dist/cli/bin.js is not built: npm run build first\n')
    process.exitCode = 1
  } else {
    process.stdout.write(`${JSON.stringify(s)}\n\n${startupTable(s)}`)
  }
}
