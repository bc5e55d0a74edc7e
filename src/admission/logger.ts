/**
 * The server's logger: pino JSON lines. The webhook logs identities, verdicts and rule ids,
 * never objects; the redaction below is a second line of defence should an object, its env or
 * a Secret's data ever be passed to a log call.
 */
import { pino, type DestinationStream, type Logger } from 'pino'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

// Top-level keys only: wildcard paths would make every log call walk its object.
const REDACT = ['object', 'oldObject', 'request', 'body', 'env', 'data', 'stringData', 'headers.authorization']

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'pod-preflight' },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  }
  // Asynchronous writes to stderr: under load, lines written while a write is in flight go out
  // together instead of one system call per review; pino flushes what is left when the process exits.
  return destination === undefined ? pino(options, pino.destination({ dest: 2, sync: false })) : pino(options, destination)
}
