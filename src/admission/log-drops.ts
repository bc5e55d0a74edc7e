/**
 * Log lines this process dropped because stderr took none (see LOG_BUFFER_BYTES in logger.ts),
 * kept apart from the logger so that the metrics read the count without loading pino.
 */
let dropped = 0

export function countDroppedLogLine(): void {
  dropped++
}

/** The count behind pod_preflight_log_lines_dropped_total. */
export function droppedLogLines(): number {
  return dropped
}
