/**
 * The server's logger: pino JSON lines. The webhook logs identities, verdicts and rule ids,
 * never objects; the redaction below is a second line of defence should an object, its env or
 * a Secret's data ever be passed to a log call.
 */
import { pino, type DestinationStream, type Logger } from 'pino'
import { countDroppedLogLine, LOG_BUFFER_BYTES } from './log-drops.js'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

// Top-level keys only: wildcard paths would make every log call walk its object.
const REDACT = ['object', 'oldObject', 'request', 'body', 'env', 'data', 'stringData', 'headers.authorization']

/**
 * Once the server has stopped, how long the process waits for its last log lines before it
 * exits anyway: a write stuck on a stalled stderr would otherwise keep a stopping webhook alive
 * until the kubelet kills it.
 */
export const EXIT_FLUSH_MS = 1_000

/** Lines that wait while stderr has taken none for this long (the process running) are dropped at exit, not waited for. */
const STALLED_MS = 500

/**
 * Lines are written to stderr together: once LOG_BATCH_BYTES of them wait, or at the latest
 * LOG_FLUSH_MS after they were logged. One write (a system call in one of Node's I/O threads,
 * and the hand-over to that thread and back) per line cost a quiet webhook more CPU time than
 * the line itself; batched, a busy one makes one write per seven lines or so. A line reaches
 * stderr at most LOG_FLUSH_MS late, and a process killed outright (SIGKILL, the OOM killer)
 * loses at most that much of its log; a process that exits writes what waits first.
 */
export const LOG_FLUSH_MS = 100
const LOG_BATCH_BYTES = 3 * 1024
/**
 * No write is larger than this, the pipe size up to which Linux writes to a pipe whole (PIPE_BUF):
 * the worker processes of `serve --workers` share one stderr, and a larger write could be taken
 * in parts with another process's lines between them. Lines are never split across writes; a
 * single line longer than this goes alone.
 */
export const LOG_MAX_WRITE_BYTES = 4096

/** Drops the lines that wait for stderr and closes the stream; says whether any waited (set by createLogger for stderr). */
let abandon: (() => boolean) | undefined

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const base = {
    level,
    base: { service: 'pod-preflight' },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  }
  if (destination !== undefined) return pino(base, destination)
  // Asynchronous writes to stderr, in batches (LOG_FLUSH_MS). At most LOG_BUFFER_BYTES wait;
  // once stderr takes lines again, one line says how many were dropped meanwhile.
  let exitDeadline: number | undefined
  const stderr = pino.destination({
    dest: 2,
    sync: false,
    minLength: LOG_BATCH_BYTES,
    maxWrite: LOG_MAX_WRITE_BYTES,
    maxLength: LOG_BUFFER_BYTES,
    // A full pipe (stderr not blocking) is waited for: running, as long as it takes (the writes
    // are asynchronous); exiting, until EXIT_FLUSH_MS have passed.
    retryEAGAIN: () => exitDeadline === undefined || Date.now() < exitDeadline,
  })
  // The bytes of lines logged and not yet taken by stderr (waiting in the batch, or being written).
  let pending = 0
  let writes = 0
  let writesSeen = 0
  let waitedLastTick = false
  let stalledMs = 0
  const logger = pino(
    {
      ...base,
      hooks: {
        streamWrite: (line: string): string => {
          pending += Buffer.byteLength(line)
          return line
        },
      },
    },
    stderr,
  )
  stderr.on('write', (n: number) => {
    writes++
    pending = Math.max(0, pending - n)
  })
  let closed = false
  // Every LOG_FLUSH_MS: the lines that wait are written (unless a write is under way), and
  // stderr counts as stalled for as long as lines that waited at the last turn saw no write
  // complete since (a write that completed is seen on the next turn of the event loop, so a
  // process busy in one long turn is not taken for a stalled stderr).
  setInterval(() => {
    stalledMs = waitedLastTick && writes === writesSeen ? stalledMs + LOG_FLUSH_MS : 0
    writesSeen = writes
    waitedLastTick = pending > 0
    if (!waitedLastTick || closed) return
    try {
      stderr.flush()
    } catch {
      // A stream that has failed says so through its 'error' event; the timer must not throw.
    }
  }, LOG_FLUSH_MS).unref()
  let unreported = 0
  stderr.on('drop', (line: string) => {
    countDroppedLogLine()
    pending = Math.max(0, pending - Buffer.byteLength(line))
    unreported++
  })
  // After a write, once less than a batch waits: stderr is taking lines again.
  stderr.on('drain', () => {
    if (unreported === 0) return
    const lines = unreported
    unreported = 0
    logger.warn({ droppedLines: lines }, `${lines} log lines were dropped: stderr took no lines while ${LOG_BUFFER_BYTES / (1 << 20)} MiB of them waited`)
  })
  // At exit, before pino's own flush (prepended), which would wait for as long as stderr takes
  // nothing: lines that wait are written if stderr is taking lines (within EXIT_FLUSH_MS), and
  // dropped, the stream closed, if it has taken none for STALLED_MS of the process's running or
  // still takes none at the deadline, so that pino's flush finds nothing to do.
  const close = (): void => {
    if (closed) return
    closed = true
    stderr.destroy()
  }
  abandon = () => {
    const waited = pending > 0
    close()
    return waited
  }
  process.prependListener('exit', () => {
    exitDeadline = Date.now() + EXIT_FLUSH_MS
    if (pending === 0 || closed) return
    if (stalledMs >= STALLED_MS) return close()
    try {
      stderr.flushSync()
    } catch {
      close()
    }
  })
  return logger
}

/**
 * For `serve`, once the server has stopped: the process ends when nothing is left to do, but a
 * log write stuck on a stalled stderr would keep it alive. If it is still alive after
 * EXIT_FLUSH_MS, the lines that still wait are dropped, without another write (a write to a
 * stalled blocking pipe never returns), and it exits, with the exit code already set. If lines
 * still waited, a write of them may be blocked in one of Node's I/O threads, which Node waits
 * for as it exits, so that even process.exit would never return: the process ends instead by
 * the default action of SIGTERM (the signal it was stopped with), status 143.
 */
export function exitAfterLastLines(): void {
  setTimeout(() => {
    if (abandon?.() === true) {
      process.removeAllListeners('SIGTERM')
      process.kill(process.pid, 'SIGTERM')
      return
    }
    process.exit()
  }, EXIT_FLUSH_MS).unref()
}
