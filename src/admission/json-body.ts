/**
 * The body parser of /validate: JSON whatever the Content-Type says (the API server always
 * sends application/json), refused with a 400 when it is not JSON or nested deeper than any
 * Kubernetes object is. The depth is checked on the text, before JSON.parse, so that nothing
 * later (the engine, a log serializer) ever walks a hostile structure.
 */
import { httpError } from './errors.js'

const OPEN_BRACE = 0x7b
const OPEN_BRACKET = 0x5b
const CLOSE_BRACE = 0x7d
const CLOSE_BRACKET = 0x5d
const QUOTE = 0x22
const BACKSLASH = 0x5c

/**
 * The deepest nesting of objects and arrays in JSON bytes, strings skipped (found with
 * indexOf, i.e. memchr, rather than byte by byte). Stops counting past `limit`.
 */
export function jsonDepth(buf: Uint8Array, limit: number): number {
  let depth = 0
  let max = 0
  const n = buf.length
  for (let i = 0; i < n; i++) {
    const c = buf[i]
    if (c === QUOTE) {
      // Find the closing quote: one not preceded by an odd number of backslashes.
      let j = i
      for (;;) {
        j = buf.indexOf(QUOTE, j + 1)
        if (j < 0) return max
        let backslashes = 0
        for (let k = j - 1; buf[k] === BACKSLASH; k--) backslashes++
        if ((backslashes & 1) === 0) break
      }
      i = j
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++
      if (depth > max) {
        max = depth
        if (max > limit) return max
      }
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--
    }
  }
  return max
}

/** Parses a request body as JSON; throws AdmissionHttpError (400) with a clear reason. */
export function parseJsonBody(body: Buffer, maxDepth: number): unknown {
  if (jsonDepth(body, maxDepth) > maxDepth) throw httpError('TOO_DEEP', String(maxDepth))
  const text = body.toString('utf8')
  if (text.trim() === '') throw httpError('EMPTY_BODY')
  try {
    return JSON.parse(text) as unknown
  } catch (err) {
    // V8's message names the position; keep it short and never echo the body.
    const message = err instanceof Error ? err.message : String(err)
    throw httpError('NOT_JSON', message.length > 160 ? `${message.slice(0, 157)}...` : message)
  }
}
