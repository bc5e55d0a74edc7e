/**
 * The server's logger: pino JSON lines. The webhook logs identities, verdicts and rule ids,
 * never objects; the redaction below is a second line of defence should an object, its env or
 * a Secret's data ever be passed to a log call.
 */
import { pino, type DestinationStream, type Logger } from 'pino'
import { countDroppedLogLine } from './log-drops.js'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

// Top-level keys only: wildcard paths would make every log call walk its object.
const REDACT = ['object', 'oldObject', 'request', 'body', 'env', 'data', 'stringData', 'headers.authorization']

/**
 * Bytes of log lines held while stderr takes none (a stalled log collector, a full pipe). Lines
 * beyond are dropped and counted, not kept: without a bound every review would add its line to
 * the heap until the process ran out of memory.
 */
export const LOG_BUFFER_BYTES = 4 * 1024 * 1024

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'pod-preflight' },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  }
  if (destination !== undefined) return pino(options, destination)
  // Asynchronous writes to stderr: under load, lines written while a write is in flight go out
  // together instead of one system call per review; pino flushes what is left when the process
  // exits. At most LOG_BUFFER_BYTES wait; once stderr has taken all that waited, one line says
  // how many were dropped meanwhile.
  const stderr = pino.destination({ dest: 2, sync: false, maxLength: LOG_BUFFER_BYTES })
  const logger = pino(options, stderr)
  let unreported = 0
  stderr.on('drop', () => {
    countDroppedLogLine()
    unreported++
  })
  stderr.on('drain', () => {
    if (unreported === 0) return
    const lines = unreported
    unreported = 0
    logger.warn({ droppedLines: lines }, `${lines} log lines were dropped: stderr took no lines while ${LOG_BUFFER_BYTES / 1024 / 1024} MiB of them waited`)
  })
  return logger
}
