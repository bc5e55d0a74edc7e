/**
 * Child process of the log-buffer test: writes N log lines of about 1 KB through the server's
 * logger (asynchronous stderr). Its parent decides whether stderr is read. Modes:
 *   burst   as fast as it can, a pause every 200 lines; then prints, as one JSON line on stdout,
 *           how many were dropped, the metric's line, and the heap in use after a full GC before
 *           and after; then stays up (for the dropped-lines report when its parent starts reading)
 *           until its parent ends it, or 20 s;
 *   paced   the same, waiting after every 1,000 lines (1 MB, a quarter of the buffer) until they
 *           have been written;
 *   stop    as burst, then ends as `serve` does once its server has stopped (exitAfterLastLines);
 *   exit    all N lines at once, then process.exit(0) at once, with the lines still waiting;
 *   batch   one line alone, timed until it is written; then N short lines at once, counting the
 *           writes that take them and the largest; prints these as one JSON line on stdout and exits.
 */
import type { EventEmitter } from 'node:events'
import { pino } from 'pino'
import { createLogger, exitAfterLastLines } from '../../src/admission/logger.js'
import { droppedLogLines } from '../../src/admission/log-drops.js'
import { createMetrics } from '../../src/admission/metrics.js'

const n = Number(process.argv[2] ?? '20000')
const mode = process.argv[3] ?? 'burst'
const gc = (globalThis as { gc?: () => void }).gc
const heapMiB = (): number => {
  gc?.()
  return Math.round((process.memoryUsage().heapUsed / (1 << 20)) * 10) / 10
}
const log = createLogger('info')
const stream = (log as unknown as Record<symbol, EventEmitter>)[pino.symbols.streamSym] as EventEmitter
const filler = 'x'.repeat(900)

if (mode === 'exit') {
  for (let i = 0; i < n; i++) log.info({ i, filler }, 'review')
  process.exit(0)
}

if (mode === 'batch') {
  let writes = 0
  let largest = 0
  stream.on('write', (n: number) => {
    writes++
    largest = Math.max(largest, n)
  })
  const t0 = Date.now()
  log.info({ i: -1 }, 'alone')
  while (writes === 0 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 5))
  const aloneMs = Date.now() - t0
  writes = 0
  const short = 'x'.repeat(150)
  for (let i = 0; i < n; i++) log.info({ i, short }, 'review')
  // Written once no write has come for half a second.
  for (let seen = -1; seen !== writes; ) {
    seen = writes
    await new Promise((r) => setTimeout(r, 500))
  }
  process.stdout.write(`${JSON.stringify({ aloneMs, writes, largest, lines: n })}\n`)
  process.exit(0)
}

const before = heapMiB()
for (let i = 0; i < n; i++) {
  log.info({ i, filler }, 'review')
  // Paced: the lines just written are still on their way (the writes are asynchronous), so the
  // stream drains after this; the listener is in place before it can.
  if (mode === 'paced' && i % 1000 === 999) await new Promise((r) => stream.once('drain', r))
  else if (i % 200 === 199) await new Promise((r) => setImmediate(r))
}
await new Promise((r) => setTimeout(r, 300))
const after = heapMiB()
const metric = createMetrics().registry.render().split('\n').find((l) => l.startsWith('pod_preflight_log_lines_dropped_total '))
process.stdout.write(`${JSON.stringify({ lines: n, dropped: droppedLogLines(), metric, before, after })}\n`)
if (mode === 'stop') {
  // What serve does once stopped; the write stuck on the stalled pipe would keep the process up.
  exitAfterLastLines()
} else {
  setTimeout(() => process.exit(0), 20_000).unref()
  await new Promise((r) => setTimeout(r, 20_000))
}
