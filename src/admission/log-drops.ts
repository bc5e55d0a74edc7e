/**
 * The bound of the log lines that wait for stderr, and the count of those this process dropped
 * beyond it, kept apart from the logger (logger.ts) so that the metrics read them without
 * loading pino.
 */

/**
 * Bytes of log lines held while stderr takes none (a stalled log collector, a full pipe). Lines
 * beyond are dropped and counted, not kept: without a bound every review would add its line to
 * the heap until the process ran out of memory.
 */
export const LOG_BUFFER_BYTES = 4 * 1024 * 1024

let dropped = 0

export function countDroppedLogLine(): void {
  dropped++
}

/** The count behind pod_preflight_log_lines_dropped_total. */
export function droppedLogLines(): number {
  return dropped
}
