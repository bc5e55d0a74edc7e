/**
 * Where a review's cost goes beyond the main thread, counted on the server: context switches of
 * its main thread and of its other threads (V8's helpers, libuv's I/O pool), each thread group's
 * CPU time, and V8's garbage collections (how many, their pauses, and the bytes that outlive a
 * scavenge or are promoted to the old generation), for pod-preflight serve and the minimal
 * Fastify server of bench/webhook-minimal.ts.
 *
 *   npm run build && npm run bench:webhook:threads
 *
 * The reviews go one after the other over one TLS keep-alive connection from this process, as a
 * quiet cluster's API server sends them: BENCH_WARM reviews first (not counted), then
 * BENCH_REVIEWS counted; each body a new object (the template's placeholder rewritten), so the
 * evaluation cache never hits. The counts (context switches, collections, bytes) are what the
 * server did, whatever the machine's load; the CPU times move with it, as in every bench here.
 * Each server runs with V8's --trace-gc-nvp, whose lines (on its stdout) give the collections.
 *
 * Environment: BENCH_WARM (default 5000), BENCH_REVIEWS (default 5000), BENCH_CLASSES
 * (comma-separated substrings of the class names, default all), BENCH_SERVE_ARGS (extra serve
 * flags), BENCH_BIN (the CLI to run, default dist/cli/bin.js: another build, to compare).
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { benchReview, REVISION_PLACEHOLDER } from './webhook-reviews.js'
import { contextSwitches, devCertificate, fmt, freePort, keepAliveClient, ROOT, serverArgs, sleep, threadCpu } from './webhook-servers.js'

const WARM = Number(process.env['BENCH_WARM'] ?? 5000)
const REVIEWS = Number(process.env['BENCH_REVIEWS'] ?? 5000)
const ONLY = (process.env['BENCH_CLASSES'] ?? '').split(',').filter((s) => s !== '')
const SERVE_ARGS = (process.env['BENCH_SERVE_ARGS'] ?? '').split(' ').filter((a) => a !== '')
const BIN = process.env['BENCH_BIN'] ?? join(ROOT, 'dist/cli/bin.js')

const CLASSES = [
  { name: 'new ReplicaSet-owned Pod', review: 'Pod CREATE (ReplicaSet-owned)' },
  { name: 'new Deployment', review: 'Deployment CREATE (good)' },
].filter((c) => ONLY.length === 0 || ONLY.some((o) => c.name.includes(o)))

interface Collections {
  /** Count, main-thread pause (ms), bytes promoted and bytes that survived within the young generation. */
  scavenges: { n: number; pauseMs: number; promoted: number; survived: number }
  majors: { n: number; pauseMs: number }
}

/** Sums --trace-gc-nvp lines (`key=value` pairs, `gc=s` for a scavenge, `gc=mc`/`ms` for full collections). */
function collections(lines: string[]): Collections {
  const out: Collections = { scavenges: { n: 0, pauseMs: 0, promoted: 0, survived: 0 }, majors: { n: 0, pauseMs: 0 } }
  for (const line of lines) {
    const f = new Map(line.trim().split(/\s+/).map((kv) => kv.split('=') as [string, string]))
    const pause = Number(f.get('pause') ?? 0)
    if (f.get('gc') === 's') {
      out.scavenges.n++
      out.scavenges.pauseMs += pause
      out.scavenges.promoted += Number(f.get('promoted') ?? 0)
      out.scavenges.survived += Number(f.get('new_space_survived') ?? 0)
    } else if (f.has('gc')) {
      out.majors.n++
      out.majors.pauseMs += pause
    }
  }
  return out
}

interface Result {
  server: string
  mainUserUs: number
  mainSystemUs: number
  otherUs: number
  mainSwitches: number
  otherSwitches: number
  gc: Collections
}

async function measure(server: 'pod-preflight' | 'minimal', review: string): Promise<Result> {
  const dir = await mkdtemp(join(tmpdir(), 'pod-preflight-threads-'))
  try {
    const { cert, key, ca } = await devCertificate(dir)
    const port = await freePort()
    const args = serverArgs(server, port, cert, key, SERVE_ARGS, BIN)
    // stderr (the log) to /dev/null, as a file would take it; stdout carries V8's GC lines.
    const proc = spawn(process.execPath, ['--trace-gc-nvp', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] })
    let gcText = ''
    proc.stdout.on('data', (b: Buffer) => (gcText += b.toString()))
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
    const client = keepAliveClient(port, ca)
    const send = async (body: string | undefined, path: string): Promise<number> => (await client.send(body, path)).status
    try {
      for (let i = 0; (await send(undefined, '/readyz').catch(() => 0)) !== 200; i++) {
        if (proc.exitCode !== null || i > 300) throw new Error(`${server} did not become ready`)
        await sleep(200)
      }
      const parts = benchReview(review).toString('utf8').split(REVISION_PLACEHOLDER)
      let seq = 0
      const run = async (n: number): Promise<void> => {
        for (let i = 0; i < n; i++) {
          const status = await send(parts.join(`rev-${String(1e9 + seq++)}`), '/validate')
          if (status !== 200) throw new Error(`${server} answered ${status}`)
        }
      }
      await run(WARM)
      const pid = proc.pid as number
      const gcFrom = gcText.length
      const s0 = contextSwitches(pid)
      const t0 = threadCpu(pid)
      await run(REVIEWS)
      const t1 = threadCpu(pid)
      const s1 = contextSwitches(pid)
      const us = (a: number, b: number): number => ((b - a) / REVIEWS) * 1e6
      return {
        server,
        mainUserUs: us(t0.mainUser, t1.mainUser),
        mainSystemUs: us(t0.mainSystem, t1.mainSystem),
        otherUs: us(t0.otherThreads, t1.otherThreads),
        mainSwitches: (s1.main - s0.main) / REVIEWS,
        otherSwitches: (s1.other - s0.other) / REVIEWS,
        gc: collections(gcText.slice(gcFrom).split('\n').filter((l) => l.includes('gc='))),
      }
    } finally {
      client.close()
      proc.kill('SIGTERM')
      await exited
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

const rows: string[] = []
for (const c of CLASSES) {
  for (const server of ['pod-preflight', 'minimal'] as const) {
    const r = await measure(server, c.review)
    const g = r.gc
    const perThousand = (n: number): string => fmt((n / REVIEWS) * 1000, 1)
    rows.push(
      `| ${c.name} | ${r.server} | ${fmt(r.mainUserUs, 0)} / ${fmt(r.mainSystemUs, 0)} / ${fmt(r.otherUs, 0)} | ${fmt(r.mainSwitches, 2)} / ${fmt(r.otherSwitches, 2)} | ${perThousand(g.scavenges.n)} | ${fmt((g.scavenges.pauseMs / REVIEWS) * 1000, 1)} | ${fmt(g.scavenges.promoted / REVIEWS / 1024, 2)} / ${fmt(g.scavenges.survived / REVIEWS / 1024, 2)} | ${perThousand(g.majors.n)} |`,
    )
    process.stderr.write(`${rows.at(-1)}\n`)
  }
}
process.stdout.write(
  [
    `One connection, one review at a time, ${REVIEWS} reviews after ${WARM} (a new object each):`,
    '',
    '| review | server | CPU µs a review: main user / main system / other threads | context switches a review: main / other threads | scavenges per 1,000 reviews | scavenge pause µs a review | KB a review promoted / kept young | full GCs per 1,000 reviews |',
    '|---|---|---|---|---:|---:|---|---:|',
    ...rows,
    '',
  ].join('\n'),
)
