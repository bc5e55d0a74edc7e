/**
 * The log lines waiting for stderr are bounded: when nothing reads stderr (a stalled log
 * collector), lines beyond LOG_BUFFER_BYTES are dropped and counted, the heap does not grow
 * with every review, and once stderr is read again one line says how many were dropped.
 * With stderr read and the lines written no faster than it takes them, no line is dropped. Real processes and real pipes (test/admission/log-stall.ts).
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { LOG_BUFFER_BYTES } from '../../src/admission/logger.js'

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
