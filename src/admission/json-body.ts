/**
 * The body parser of /validate: JSON whatever the Content-Type says (the API server always
 * sends application/json), refused with a 400 when it is not JSON or nested deeper than any
 * Kubernetes object is. The depth is checked on the parsed value, before anything else (the
 * engine, a log serializer) walks it: V8's JSON.parse is not recursive, so a deep document
 * cannot overflow its stack, and walking the parsed objects and arrays skips every string and
 * number the byte scan of the text had to read (a third of the time of that scan on the
 * bench's reviews). A body that is not JSON is still scanned as text, so that deep nesting
 * in an unclosed document is named as such.
 */
import { httpError } from './errors.js'
import { quote, safeText } from '../text/sanitize.js'

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

/**
 * The deepest nesting of objects and arrays in a parsed JSON value (the top-level object is 1),
 * as jsonDepth counts it on the text. Stops past `limit`. Iterative, and linear in the number
 * of objects and arrays, which the body limit bounds.
 */
export function valueDepth(root: unknown, limit: number): number {
  if (typeof root !== 'object' || root === null) return 0
  const stack: object[] = [root]
  const depths: number[] = [1]
  let max = 0
  while (stack.length > 0) {
    const v = stack.pop() as object
    const d = depths.pop() as number
    if (d > max) {
      max = d
      if (max > limit) return max
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const c: unknown = v[i]
        if (typeof c === 'object' && c !== null) {
          stack.push(c)
          depths.push(d + 1)
        }
      }
    } else {
      const record = v as Record<string, unknown>
      for (const k in record) {
        const c = record[k]
        if (typeof c === 'object' && c !== null) {
          stack.push(c)
          depths.push(d + 1)
        }
      }
    }
  }
  return max
}

/** The UTF-8 byte order mark some editors and tools put first; JSON.parse refuses it, so it is dropped. */
const BOM = [0xef, 0xbb, 0xbf]

/** Characters of the body a NOT_JSON message quotes, around where parsing failed. */
const EXCERPT = 40

/** Parses a request body as JSON; throws AdmissionHttpError (400) with a clear reason. */
export function parseJsonBody(body: Buffer, maxDepth: number): unknown {
  const bytes = body[0] === BOM[0] && body[1] === BOM[1] && body[2] === BOM[2] ? body.subarray(3) : body
  const text = bytes.toString('utf8')
  let value: unknown
  try {
    value = JSON.parse(text) as unknown
  } catch (err) {
    // Only a body that failed to parse is looked at again: empty, too deep, or not JSON.
    if (text.trim() === '') throw httpError('EMPTY_BODY')
    if (jsonDepth(bytes, maxDepth) > maxDepth) throw httpError('TOO_DEEP', String(maxDepth))
    throw httpError('NOT_JSON', notJsonDetail(text, err instanceof Error ? err.message : String(err)))
  }
  if (valueDepth(value, maxDepth) > maxDepth) throw httpError('TOO_DEEP', String(maxDepth))
  return value
}

/**
 * V8's reason without its own raw excerpt of the body (Node 22 quotes one, controls and all),
 * then a short escaped excerpt: around the position when V8 names it, the end when the body
 * stops short, else the start.
 */
function notJsonDetail(text: string, message: string): string {
  const reason = safeText(message.replace(/, ".*" is not valid JSON$/s, ' is not valid JSON').replace(/ \(line \d+ column \d+\)$/, ''), 120)
  const at = /at position (\d+)/.exec(message)
  if (at !== null) {
    const pos = Number(at[1])
    const from = Math.max(0, pos - EXCERPT / 2)
    return `${reason}; near ${quote(text.slice(from, from + EXCERPT), EXCERPT + 20)}`
  }
  if (/end of JSON input/.test(message)) return `${reason}; the body ends ${quote(text.slice(-EXCERPT), EXCERPT + 20)}`
  return `${reason}; the body starts ${quote(text.slice(0, EXCERPT), EXCERPT + 20)}`
}
