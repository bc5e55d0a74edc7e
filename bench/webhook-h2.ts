/**
 * HTTP/2 or HTTP/1.1 for the webhook: the server's CPU per review (user + system from /proc,
 * divided by the reviews answered) for the same reviews over each protocol, with the load from
 * a C generator, nghttp2's h2load, for both, so the client is the same program either way.
 *
 *   npm run build && npm run bench:webhook:h2
 *
 * Three ways of serving, each its own `pod-preflight serve` process, measured in turn within
 * each round (the order rotates):
 *   - h1:           serve as it is (HTTP/1.1 only), `h2load --h1` with CONNECTIONS keep-alive
 *                   connections, one request in flight on each (as the API server's webhook
 *                   client keeps one connection per concurrent call);
 *   - h2:           serve --http2, h2load over ONE connection with CONNECTIONS concurrent streams
 *                   (as an HTTP/2 client multiplexes);
 *   - h1 on h2+h1:  serve --http2 answering an HTTP/1.1-only client (what the API server's
 *                   admission client gets from a server that offers h2: it offers only http/1.1).
 * Same in-flight concurrency everywhere. h2load sends one fixed body, so the evaluation cache
 * is turned off (--cache-size 0) in every server: each review is judged in full, as a new object
 * would be. h2load reports no percentiles; the mean time per request is shown.
 *
 * h2load comes from Debian's nghttp2-client; when it is missing this bench says so and exits 2.
 * Environment: BENCH_SECONDS (per measurement, default 6), BENCH_ROUNDS (default 3),
 * BENCH_CONNECTIONS (in flight, default 4), BENCH_JSON=1.
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { benchReview as pick } from './webhook-reviews.js'
import { cpuSeconds, findCommand, fmt, freePort, median, ROOT, startServer, type Server } from './webhook-servers.js'

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 6)
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3)
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 4)
const JSON_ONLY = process.env['BENCH_JSON'] === '1'
const say = (s: string): void => {
  if (!JSON_ONLY) process.stderr.write(`${s}\n`)
}

interface Run {
  requests: number
  failed: number
  cpuPerReviewUs: number
  rate: number
  meanMs: number
  protocol: string
}

/** h2load's time units (us, ms, s) in milliseconds. */
function ms(value: string, unit: string): number {
  const v = Number(value)
  return unit === 'us' ? v / 1000 : unit === 's' ? v * 1000 : v
}

async function runH2load(h2load: string, server: Server, bodyPath: string, mode: 'h1' | 'h2', seconds: number): Promise<Run> {
  const shape = mode === 'h1' ? ['--h1', `-c${CONNECTIONS}`, '-m1'] : ['-c1', `-m${CONNECTIONS}`]
  const c0 = cpuSeconds(server.proc.pid)
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn(h2load, [...shape, '-t1', `-D${seconds}`, '-d', bodyPath, '-H', 'content-type: application/json', `https://127.0.0.1:${server.target.port}/validate`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let text = ''
    // An interrupted bench leaves no h2load behind.
    const kill = (): void => void p.kill('SIGKILL')
    process.once('exit', kill)
    p.once('close', () => process.off('exit', kill))
    p.stdout.on('data', (c: Buffer) => (text += c.toString()))
    p.stderr.on('data', (c: Buffer) => (text += c.toString()))
    p.on('error', reject)
    p.on('close', () => resolve(text))
  })
  const c1 = cpuSeconds(server.proc.pid)
  const done = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out)
  const mean = /time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)\s/.exec(out)
  const protocol = /Application protocol: (\S+)/.exec(out)?.[1] ?? '?'
  if (done === null || mean === null) throw new Error(`h2load gave no result:\n${out}`)
  // No warm-up phase: h2load's counts and the /proc CPU cover the same seconds (and the
  // handshakes: CONNECTIONS for h1, one for h2, a few ms against thousands of reviews).
  const requests = Number(done[1])
  return {
    requests,
    failed: Number(done[2]) + Number(done[3]) + Number(done[4]),
    cpuPerReviewUs: ((c1 - c0) / requests) * 1e6,
    rate: requests / seconds,
    meanMs: ms(mean[1] ?? 'NaN', mean[2] ?? 'ms'),
    protocol,
  }
}

async function main(): Promise<void> {
  const h2load = findCommand('h2load')
  if (h2load === undefined) {
    process.stderr.write('bench:webhook:h2 needs h2load (Debian: apt-get install nghttp2-client)\n')
    process.exit(2)
  }
  const bin = join(ROOT, 'dist/cli/bin.js')
  if (!existsSync(bin)) throw new Error('dist/cli/bin.js is missing: run npm run build first')
  const dir = await mkdtemp(join(tmpdir(), 'pod-preflight-bench-h2-'))
  execFileSync('bash', [join(ROOT, 'certs/generate.sh'), '--dev', '--out', dir], { stdio: ['ignore', 'ignore', 'ignore'] })
  const ca = await readFile(join(dir, 'ca.crt'))
  const serve = async (name: string, extra: string[]): Promise<Server> => {
    const port = await freePort()
    const args = [bin, 'serve', '--host=127.0.0.1', `--port=${port}`, `--tls-cert=${join(dir, 'tls.crt')}`, `--tls-key=${join(dir, 'tls.key')}`, '--log-level=info', '--cache-size=0', ...extra]
    return startServer(name, args, port, ca, dir)
  }
  const h1 = await serve('h1', [])
  const h2 = await serve('h2', ['--http2'])
  try {
    const classes = [
      { name: 'ReplicaSet-owned Pod', body: pick('Pod CREATE (ReplicaSet-owned)') },
      { name: 'Deployment', body: pick('Deployment CREATE (good)') },
    ]
    const ways = [
      { key: 'h1', server: h1, mode: 'h1' as const },
      { key: 'h2', server: h2, mode: 'h2' as const },
      { key: 'h1 on h2+h1', server: h2, mode: 'h1' as const },
    ]
    say(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; ${CONNECTIONS} in flight, ${SECONDS} s per run, ${ROUNDS} rounds, cache off`)
    const results: Record<string, unknown>[] = []
    for (const [i, c] of classes.entries()) {
      const bodyPath = join(dir, `body-${i}.json`)
      await writeFile(bodyPath, c.body)
      for (const w of ways) await runH2load(h2load, w.server, bodyPath, w.mode, 2) // warm up
      const runs: Record<string, Run>[] = []
      for (let r = 0; r < ROUNDS; r++) {
        const got: Record<string, Run> = {}
        for (let k = 0; k < ways.length; k++) {
          const w = ways[(k + r) % ways.length] ?? ways[0]
          if (w === undefined) continue
          got[w.key] = await runH2load(h2load, w.server, bodyPath, w.mode, SECONDS)
        }
        runs.push(got)
        say(`${c.name} round ${r + 1}: ${ways.map((w) => `${w.key} ${fmt(got[w.key]?.cpuPerReviewUs ?? NaN)} µs/review (${fmt(got[w.key]?.rate ?? NaN, 0)}/s, ${got[w.key]?.protocol ?? '?'})`).join(', ')}`)
      }
      const of = (key: string, f: (r: Run) => number): number => median(runs.map((r) => (r[key] !== undefined ? f(r[key]) : NaN)))
      const ratio = (key: string): number => median(runs.map((r) => (r[key]?.cpuPerReviewUs ?? NaN) / (r['h1']?.cpuPerReviewUs ?? NaN)))
      results.push({
        class: c.name,
        ways: Object.fromEntries(ways.map((w) => [w.key, { cpuPerReviewUs: of(w.key, (r) => r.cpuPerReviewUs), rate: of(w.key, (r) => r.rate), meanMs: of(w.key, (r) => r.meanMs), ratioToH1: ratio(w.key) }])),
        failed: runs.reduce((n, r) => n + Object.values(r).reduce((m, x) => m + x.failed, 0), 0),
      })
    }
    if (JSON_ONLY) {
      process.stdout.write(`${JSON.stringify({ machine: { cpus: cpus().length, node: process.version }, connections: CONNECTIONS, results }, null, 2)}\n`)
      return
    }
    const lines = [
      '',
      '| review (cache off) | h1: CPU/review, mean | h2: CPU/review, mean | h2 / h1 | h1 client on h2+h1 server / h1 |',
      '|---|---:|---:|---:|---:|',
      ...results.map((r) => {
        const w = r['ways'] as Record<string, { cpuPerReviewUs: number; meanMs: number; ratioToH1: number }>
        const a = w['h1']
        const b = w['h2']
        const c = w['h1 on h2+h1']
        return `| ${String(r['class'])} | ${fmt(a?.cpuPerReviewUs ?? NaN)} µs, ${fmt(a?.meanMs ?? NaN, 2)} ms | ${fmt(b?.cpuPerReviewUs ?? NaN)} µs, ${fmt(b?.meanMs ?? NaN, 2)} ms | **${fmt(b?.ratioToH1 ?? NaN, 2)}×** | ${fmt(c?.ratioToH1 ?? NaN, 2)}× |`
      }),
      '',
      `failed requests: ${results.reduce((n, r) => n + (r['failed'] as number), 0)}; load average after: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
      '',
    ]
    process.stdout.write(lines.join('\n'))
  } finally {
    for (const s of [h1, h2]) s.proc.kill('SIGTERM')
    await new Promise((r) => setTimeout(r, 300))
    for (const s of [h1, h2]) s.proc.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  }
}

await main()
