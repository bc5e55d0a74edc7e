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
const WATCH_MS = 250

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
  // Asynchronous writes to stderr: under load, lines written while a write is in flight go out
  // together instead of one system call per review. At most LOG_BUFFER_BYTES wait; once stderr
  // has taken all that waited, one line says how many were dropped meanwhile.
  let exitDeadline: number | undefined
  const stderr = pino.destination({
    dest: 2,
    sync: false,
    maxLength: LOG_BUFFER_BYTES,
    // A full pipe (stderr not blocking) is waited for: running, as long as it takes (the writes
    // are asynchronous); exiting, until EXIT_FLUSH_MS have passed.
    retryEAGAIN: () => exitDeadline === undefined || Date.now() < exitDeadline,
  })
  // Whether lines wait, and for how long, as the running process saw it, stderr has taken none
  // of them (a write that completed is seen on the next turn of the event loop, so a process
  // busy in one long turn is not taken for a stalled stderr).
  let waiting = false
  let writes = 0
  let writesSeen = 0
  let stalledMs = 0
  const logger = pino(
    {
      ...base,
      hooks: {
        streamWrite: (line: string): string => {
          waiting = true
          return line
        },
      },
    },
    stderr,
  )
  stderr.on('write', () => {
    writes++
  })
  setInterval(() => {
    stalledMs = waiting && writes === writesSeen ? stalledMs + WATCH_MS : 0
    writesSeen = writes
  }, WATCH_MS).unref()
  let unreported = 0
  stderr.on('drop', () => {
    countDroppedLogLine()
    unreported++
  })
  stderr.on('drain', () => {
    waiting = false
    if (unreported === 0) return
    const lines = unreported
    unreported = 0
    logger.warn({ droppedLines: lines }, `${lines} log lines were dropped: stderr took no lines while ${LOG_BUFFER_BYTES / (1 << 20)} MiB of them waited`)
  })
  // At exit, before pino's own flush (prepended), which would wait for as long as stderr takes
  // nothing: lines that wait are written if stderr is taking lines (within EXIT_FLUSH_MS), and
  // dropped, the stream closed, if it has taken none for STALLED_MS of the process's running or
  // still takes none at the deadline, so that pino's flush finds nothing to do.
  let closed = false
  const close = (): void => {
    if (closed) return
    closed = true
    stderr.destroy()
  }
  abandon = () => {
    const waited = waiting
    close()
    return waited
  }
  process.prependListener('exit', () => {
    exitDeadline = Date.now() + EXIT_FLUSH_MS
    if (!waiting || closed) return
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
