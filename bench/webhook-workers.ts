/**
 * serve --workers: reviews/s and p99 of `pod-preflight serve` as one process (the default,
 * --workers 1) against --workers 2 and --workers 4, on the same machine in the same run, load
 * from wrk (a C load generator, with unique bodies so that the evaluation cache never hits).
 *
 *   npm run bench:webhook:workers
 *
 * Each round measures every server once, in a rotating order; the table gives the medians and
 * the ratios against the single process. Beside rate and latency: CPU per review and resident
 * memory summed over the whole process tree (primary and workers), from /proc.
 *
 * The load generator runs on the same cores as the servers: on a 2-core machine wrk's own CPU
 * takes part of what the workers could use, so the ratios are a floor for what a pod with that
 * many cores to itself gets, not a forecast. Environment: BENCH_SECONDS (per run, default 6),
 * BENCH_ROUNDS (default 3), BENCH_CONNECTIONS (default 16), BENCH_WORKERS (default "1 2 4"),
 * BENCH_SERVE_ARGS (extra serve flags for every server), BENCH_JSON=1.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { benchReview } from './webhook-reviews.js'
import { cpuSeconds, fmt, freePort, median, ROOT, startServer, type Server } from './webhook-servers.js'
import { findWrk, luaScript, runWrk, type Run } from './webhook-wrk.js'

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 6)
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3)
const WORKERS = (process.env['BENCH_WORKERS'] ?? '1 2 4').split(' ').filter((w) => w !== '').map(Number)
const SERVE_ARGS = (process.env['BENCH_SERVE_ARGS'] ?? '').split(' ').filter((a) => a !== '')
const JSON_ONLY = process.env['BENCH_JSON'] === '1'
const say = (s: string): void => {
  if (!JSON_ONLY) process.stderr.write(`${s}\n`)
}

/** A process and its descendants (the primary and its workers), from /proc. */
function tree(pid: number | undefined): number[] {
  if (pid === undefined) return []
  const parents = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)])
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = []
  const walk = (p: number): void => {
    out.push(p)
    for (const c of parents.get(p) ?? []) walk(c)
  }
  walk(pid)
  return out
}

function treeCpu(pid: number | undefined): number {
  return tree(pid).reduce((s, p) => s + (cpuSeconds(p) || 0), 0)
}

function treeRssMiB(pid: number | undefined): number {
  let kib = 0
  for (const p of tree(pid)) {
    try {
      kib += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0)
    } catch {
      // gone meanwhile
    }
  }
  return kib / 1024
}


async function main(): Promise<void> {
  const wrk = findWrk()
  if (wrk === undefined) {
    process.stderr.write('bench:webhook:workers needs wrk (Debian: apt-get install wrk)\n')
    process.exit(2)
  }
  const dir = await mkdtemp(join(tmpdir(), 'pod-preflight-bench-workers-'))
  const servers: { workers: number; server: Server }[] = []
  try {
    execFileSync('bash', [join(ROOT, 'certs/generate.sh'), '--dev', '--out', dir], { stdio: ['ignore', 'ignore', 'ignore'] })
    const ca = await readFile(join(dir, 'ca.crt'))
    const bin = join(ROOT, 'dist/cli/bin.js')
    for (const n of WORKERS) {
      const port = await freePort()
      const args = [bin, 'serve', '--host=127.0.0.1', `--port=${port}`, `--tls-cert=${join(dir, 'tls.crt')}`, `--tls-key=${join(dir, 'tls.key')}`, `--workers=${n}`, '--shutdown-delay=0s', ...SERVE_ARGS]
      servers.push({ workers: n, server: await startServer(`workers-${n}`, args, port, ca, dir) })
    }
    const body = benchReview('Pod CREATE (ReplicaSet-owned)')
    const bodyPath = join(dir, 'body.json')
    const scriptPath = join(dir, 'script.lua')
    await writeFile(bodyPath, body)
    await writeFile(scriptPath, luaScript(bodyPath, true))
    say(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; wrk -t2 -c${process.env['BENCH_CONNECTIONS'] ?? 16}, ${SECONDS} s per run, ${ROUNDS} rounds; new ReplicaSet-owned Pods (no cache hits)`)
    for (const s of servers) await runWrk(wrk, s.server, scriptPath, 2) // warm up every worker's JIT
    const runs = new Map<number, (Run & { cpuUs: number; rssMiB: number; primaryCpuUs: number; primaryRssMiB: number })[]>()
    for (let r = 0; r < ROUNDS; r++) {
      const order = servers.map((_, i) => servers[(i + r) % servers.length]).filter((s): s is (typeof servers)[number] => s !== undefined)
      for (const s of order) {
        const pid = s.server.proc.pid
        const p0 = cpuSeconds(pid)
        const run = await runWrk(wrk, s.server, scriptPath, SECONDS, () => treeCpu(pid))
        const primaryCpuUs = ((cpuSeconds(pid) - p0) / run.requests) * 1e6
        const rssMiB = treeRssMiB(pid)
        const primaryRssMiB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024
        runs.set(s.workers, [...(runs.get(s.workers) ?? []), { ...run, cpuUs: run.cpuPerReviewUs, rssMiB, primaryCpuUs, primaryRssMiB }])
        say(`round ${r + 1}, --workers ${s.workers}: ${fmt(run.rate, 0)} reviews/s, p50 ${fmt(run.p50, 2)} ms, p99 ${fmt(run.p99, 2)} ms, ${fmt(run.cpuPerReviewUs)} µs CPU/review, RSS ${fmt(rssMiB, 0)} MiB, errors ${run.errors + run.badAnswers}`)
      }
    }
    const base = runs.get(WORKERS[0] ?? 1) ?? []
    const baseRate = median(base.map((r) => r.rate))
    const baseP99 = median(base.map((r) => r.p99))
    const results = WORKERS.map((n) => {
      const rs = runs.get(n) ?? []
      const rate = median(rs.map((r) => r.rate))
      const p99 = median(rs.map((r) => r.p99))
      return {
        workers: n,
        rate,
        rateRatio: rate / baseRate,
        p50: median(rs.map((r) => r.p50)),
        p99,
        p99Ratio: p99 / baseP99,
        cpuUs: median(rs.map((r) => r.cpuUs)),
        rssMiB: median(rs.map((r) => r.rssMiB)),
        primaryCpuUs: median(rs.map((r) => r.primaryCpuUs)),
        primaryRssMiB: median(rs.map((r) => r.primaryRssMiB)),
        errors: rs.reduce((e, r) => e + r.errors + r.badAnswers, 0),
      }
    })
    if (JSON_ONLY) {
      process.stdout.write(`${JSON.stringify({ machine: { cpus: cpus().length, node: process.version }, results }, null, 2)}\n`)
      return
    }
    process.stdout.write(
      [
        '',
        '| processes | reviews/s | × single | p50 | p99 | × single | CPU/review (all processes) | of which the primary | RSS (all processes) | of which the primary |',
        '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
        ...results.map(
          (r) =>
            `| ${r.workers === 1 ? 'single (--workers 1)' : `--workers ${r.workers} (+ primary)`} | ${fmt(r.rate, 0)} | **${fmt(r.rateRatio, 2)}×** | ${fmt(r.p50, 2)} ms | ${fmt(r.p99, 2)} ms | ${fmt(r.p99Ratio, 2)}× | ${fmt(r.cpuUs)} µs | ${r.workers === 1 ? '—' : `${fmt(r.primaryCpuUs)} µs`} | ${fmt(r.rssMiB, 0)} MiB | ${r.workers === 1 ? '—' : `${fmt(r.primaryRssMiB, 0)} MiB`} |`,
        ),
        '',
        `errors or bad answers: ${results.reduce((e, r) => e + r.errors, 0)}; load average after: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
        '',
      ].join('\n'),
    )
  } finally {
    for (const s of servers) s.server.proc.kill('SIGTERM')
    await rm(dir, { recursive: true, force: true })
  }
}

await main()
