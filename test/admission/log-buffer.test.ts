/**
 * The log lines waiting for stderr are bounded: when nothing reads stderr (a stalled log
 * collector), lines beyond LOG_BUFFER_BYTES are dropped and counted, the heap does not grow
 * with every review, and once stderr is read again one line says how many were dropped.
 * With stderr read and the lines written no faster than it takes them, no line is dropped.
 * A process that has stopped serving ends soon even when stderr takes nothing (by its own
 * SIGTERM when lines still wait); one that exits with lines waiting on a stderr that is read
 * writes them first; `serve` itself, its stderr never read (and made blocking), answers every
 * review and ends soon after SIGTERM.
 * Real processes and real pipes (test/admission/log-stall.ts).
 */
import t, { type Test } from 'tap'
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { Agent, request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { EXIT_FLUSH_MS, LOG_FLUSH_MS, LOG_MAX_WRITE_BYTES } from '../../src/admission/logger.js'
import { LOG_BUFFER_BYTES } from '../../src/admission/log-drops.js'
import { freePort } from '../e2e/harness/cluster.js'

const child = fileURLToPath(new URL('./log-stall.ts', import.meta.url))
const LINES = 20_000

interface Result {
  lines: number
  dropped: number
  metric?: string
  before: number
  after: number
}

/** Starts the child; with `stall`, its stderr is not read until its result has been printed. */
function run(stall: boolean): Promise<{ result: Result; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', '--import=tsx', child, String(LINES), stall ? 'burst' : 'paced'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let result: Result | undefined
    const done = (): void => {
      if (result === undefined) return
      // Stalled: the child reports its dropped lines once its stderr has drained; read, it has nothing to report.
      if (!stall || /were dropped/.test(stderr)) p.kill()
    }
    if (stall) p.stderr.pause()
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
      if (result !== undefined || !stdout.includes('\n')) return
      result = JSON.parse(stdout.split('\n')[0] ?? '{}') as Result
      if (stall) {
        p.stderr.on('data', (x: Buffer) => {
          stderr += x.toString()
          done()
        })
        p.stderr.resume()
      } else {
        // Every line has left the child when it printed (paced, it waited for its writes); give the pipe a moment.
        setTimeout(() => p.kill(), 500)
      }
    })
    if (!stall) p.stderr.on('data', (x: Buffer) => (stderr += x.toString()))
    const timer = setTimeout(() => {
      p.kill('SIGKILL')
      reject(new Error(`no result in time: ${stdout.slice(0, 500)}`))
    }, 60_000)
    p.on('close', (code) => {
      clearTimeout(timer)
      if (result === undefined) reject(new Error(`the child ended without a result (${code}): ${stderr.slice(-1000)}`))
      else resolve({ result, stderr, code })
    })
  })
}

t.test('stderr not read: lines beyond the buffer are dropped, counted and reported; the heap stays bounded', async (t) => {
  const { result, stderr } = await run(true)
  const lineBytes = 1_000
  const kept = LINES - result.dropped
  t.ok(result.dropped > 0, `lines dropped: ${result.dropped}`)
  t.ok(kept * lineBytes <= LOG_BUFFER_BYTES + 2 * 1024 * 1024, `lines kept or written: ${kept}, at most the buffer and the pipes' worth`)
  t.equal(result.metric, `pod_preflight_log_lines_dropped_total ${result.dropped}`)
  const grew = result.after - result.before
  t.ok(grew <= LOG_BUFFER_BYTES / (1 << 20) + 4, `heap grew ${grew} MiB for ${(LINES * lineBytes) / 1e6} MB of lines (bound: the buffer + 4 MiB)`)
  const report = stderr
    .split('\n')
    .filter((l) => l.includes('were dropped'))
    .map((l) => JSON.parse(l) as { level?: string; droppedLines?: number; msg?: string })
  t.equal(report.length, 1, 'one line reports the dropped lines once stderr is read again')
  t.equal(report[0]?.level, 'warn')
  t.equal(report[0]?.droppedLines, result.dropped)
  t.match(report[0]?.msg ?? '', /^\d+ log lines were dropped: stderr took no lines while 4 MiB of them waited$/)
})

t.test('stderr read, lines written no faster than it takes them: no line is dropped', async (t) => {
  const { result, stderr } = await run(false)
  t.equal(result.dropped, 0)
  t.equal(result.metric, 'pod_preflight_log_lines_dropped_total 0')
  const lines = stderr.split('\n').filter((l) => l.includes('"msg":"review"'))
  t.equal(lines.length, LINES, 'every line reached stderr')
  t.notMatch(stderr, /were dropped/)
})

/** Runs the child in `mode` and resolves when it has exited, with what it wrote and how long after its result line it took. */
function runToExit(mode: 'stop' | 'exit', lines: number, readStderr: boolean): Promise<{ code: number | null; signal: string | null; stderr: string; afterResultMs: number }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--expose-gc', '--import=tsx', child, String(lines), mode], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    let resultAt = Date.now()
    if (readStderr) p.stderr.on('data', (x: Buffer) => (stderr += x.toString()))
    else p.stderr.pause()
    p.stdout.on('data', () => (resultAt = Date.now()))
    // A process that hangs is ended here, and the test fails on its signal.
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000)
    p.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stderr, afterResultMs: Date.now() - resultAt })
    })
  })
}

t.test('stopped with stderr taking nothing: the process still ends, a second after the server stopped', async (t) => {
  const r = await runToExit('stop', LINES, false)
  // Lines still wait, so a write may be blocked in an I/O thread that exit would wait for: it
  // ends itself by SIGTERM's default action, not killed from here.
  t.equal(r.signal, 'SIGTERM', 'ended by its own SIGTERM')
  t.ok(r.afterResultMs >= EXIT_FLUSH_MS && r.afterResultMs < EXIT_FLUSH_MS + 4_000, `ended ${r.afterResultMs} ms after it stopped`)
})

t.test('exiting with lines waiting on a stderr that is read: they are written first', async (t) => {
  // 1,000 lines of about 1 KB: under the buffer, so none is dropped; most still wait when it
  // exits, and the pipes take them well within EXIT_FLUSH_MS.
  const r = await runToExit('exit', 1_000, true)
  t.equal(r.code, 0)
  const written = r.stderr.split('\n').filter((l) => l.includes('"msg":"review"'))
  t.equal(written.length, 1_000, 'every line reached stderr')
  t.equal(new Set(written.map((l) => (JSON.parse(l) as { i: number }).i)).size, 1_000, 'each line once')
})

t.test('lines are written in batches: a line alone within the flush interval, many lines in writes of at most a pipe buffer', async (t) => {
  const p = spawn(process.execPath, ['--import=tsx', child, '400', 'batch'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  p.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const code = await new Promise<number | null>((resolve) => p.on('close', resolve))
  t.equal(code, 0, 'the child ends by itself')
  const r = JSON.parse(stdout.split('\n')[0] ?? '{}') as { aloneMs: number; writes: number; largest: number; lines: number }
  // The interval's timer may fire up to one interval late on a busy machine; a line never waits for a batch to fill.
  t.ok(r.aloneMs < 10 * LOG_FLUSH_MS, `a line alone was written after ${r.aloneMs} ms (flush interval ${LOG_FLUSH_MS} ms)`)
  const lines = stderr.split('\n').filter((l) => l.includes('"msg":"review"'))
  t.equal(lines.length, 400, 'every line reached stderr')
  t.equal(new Set(lines.map((l) => (JSON.parse(l) as { i: number }).i)).size, 400, 'each line once')
  t.match(stderr, /"msg":"alone"/)
  // 400 lines of about 250 bytes are 100 KB: a few dozen writes of up to 4 KiB, not one per line.
  t.ok(r.writes > 0 && r.writes <= 80, `400 lines in ${r.writes} writes`)
  // Each a whole pipe buffer at most, so that the lines of processes sharing stderr never interleave.
  t.ok(r.largest > 0 && r.largest <= LOG_MAX_WRITE_BYTES, `the largest write was ${r.largest} bytes (at most ${LOG_MAX_WRITE_BYTES})`)
})

/**
 * `serve`, its stderr never read. With `blocking`, once it serves, another process sharing its
 * stderr clears O_NONBLOCK on it (as a program started with the same stderr may): a write of its
 * lines then blocks in one of Node's I/O threads instead of being retried.
 */
async function serveStalled(t: Test, blocking: boolean): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'log-stall-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  execFileSync('bash', [fileURLToPath(new URL('../../certs/generate.sh', import.meta.url)), '--dev', '--out', dir], { stdio: 'ignore' })
  const ca = readFileSync(join(dir, 'ca.crt'))
  const port = await freePort()
  const bin = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url))
  const serve = [process.execPath, '--import=tsx', bin, 'serve', '--host', '127.0.0.1', '--port', String(port), '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--shutdown-delay', '0s']
  const marker = join(dir, 'blocking')
  // perl (Debian's perl-base, always there) clears the flag on the description it shares with the server, then says so.
  const clear = `until [ -f "${marker}.go" ]; do sleep 0.1; done; perl -MFcntl -e 'fcntl(STDERR, F_SETFL, fcntl(STDERR, F_GETFL, 0) & ~O_NONBLOCK) or die' && touch "${marker}"`
  const p = blocking
    ? spawn('sh', ['-c', `(${clear}) & exec "$@"`, 'sh', ...serve], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(serve[0] ?? process.execPath, serve.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] })
  // Never read: the pipe and this side's buffer fill, then every write of the server waits.
  p.stderr.pause()
  const exited = new Promise<{ code: number | null; signal: string | null; at: number }>((resolve) => p.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })))
  const hang = setTimeout(() => p.kill('SIGKILL'), 90_000)
  t.teardown(() => {
    clearTimeout(hang)
    p.kill('SIGKILL')
  })
  const agent = new Agent({ keepAlive: true, maxSockets: 8, ca })
  t.teardown(() => agent.destroy())
  const ask = (path: string, body?: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, method: body === undefined ? 'GET' : 'POST', agent, servername: 'localhost', headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      })
      req.on('error', reject)
      req.end(body)
    })
  let up = false
  for (let i = 0; i < 300 && !up; i++) {
    up = await ask('/healthz').then((s) => s === 200, () => false)
    if (!up) await new Promise((r) => setTimeout(r, 100))
  }
  t.ok(up, 'serving')
  if (blocking) {
    writeFileSync(`${marker}.go`, '')
    for (let i = 0; i < 100 && !existsSync(marker); i++) await new Promise((r) => setTimeout(r, 100))
    t.ok(existsSync(marker), 'its stderr is blocking now')
  }
  // About 2,000 review lines of some 450 bytes: far more than the pipe and the paused reader hold.
  const review = readFileSync(fileURLToPath(new URL('../../examples/admission-review.json', import.meta.url)), 'utf8')
  let answered = 0
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = 0; i < 250; i++) if ((await ask('/validate', review)) === 200) answered++
    }),
  )
  t.equal(answered, 2_000, 'every review answered while stderr takes nothing')
  const stoppedAt = Date.now()
  p.kill('SIGTERM')
  // Should it still run 15 s on, its stderr is read from then on, so that a failure can say what it wrote last.
  let late = ''
  const reader = setTimeout(() => {
    p.stderr.on('data', (x: Buffer) => (late = (late + x.toString()).slice(-200_000)))
    p.stderr.resume()
  }, 15_000)
  const end = await exited
  clearTimeout(reader)
  const lastLines = late
    .split('\n')
    .filter((l) => l !== '' && !l.includes('"msg":"review"'))
    .slice(-20)
    .join('\n')
  if (lastLines !== '') t.comment(`still running 15 s after SIGTERM; its last lines other than reviews:\n${lastLines}`)
  // Either its last lines were written and it exited 0, or EXIT_FLUSH_MS after it stopped they
  // still waited and it ended itself by SIGTERM's default action; never killed from here.
  t.not(end.signal, 'SIGKILL', 'ended on its own, not killed')
  if (end.signal === null) t.equal(end.code, 0)
  else t.ok(end.signal === 'SIGTERM' && end.at - stoppedAt >= EXIT_FLUSH_MS, `ended by SIGTERM's default action (${end.signal}), after waiting ${EXIT_FLUSH_MS} ms for its last lines`)
  // Shutdown with no delay and no request in flight, then at most EXIT_FLUSH_MS for the last lines.
  t.ok(end.at - stoppedAt < EXIT_FLUSH_MS + 5_000, `ended ${end.at - stoppedAt} ms after SIGTERM`)
  if (blocking) t.equal(end.signal, 'SIGTERM', 'a write was left blocked: it ended by its own SIGTERM')
}

t.test('serve, its stderr never read: answers every review, and ends soon after SIGTERM', (t) => serveStalled(t, false))
t.test('serve, its stderr never read and made blocking: the same', (t) => serveStalled(t, true))
