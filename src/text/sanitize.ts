/**
 * Output safety: the one place that makes text from a manifest, a review or a log safe to
 * show on a person's terminal.
 *
 * Names, images, scripts and messages come from whoever wrote the object. Shown raw, an ESC or
 * an 8-bit CSI (U+009B) drives the terminal (colours, cursor moves, window titles), a BEL
 * rings, a newline forges a line of our own output (a fake "DENY"), and a bidirectional
 * override (U+202E) makes the text read differently from what it is. Everything shown is
 * therefore escaped visibly (`\n`, `\x1b`, `\u202e`) and, where it is a name or a value,
 * quoted and shortened.
 *
 * Every function here does work bounded by its `max` (quote, shorten) or linear in its input
 * (escapeControls), and never splits a surrogate pair.
 */

/**
 * What is escaped: C0 controls, DEL, C1 controls (U+0080–U+009F, including the 8-bit CSI),
 * the line and paragraph separators, bidirectional marks, embeddings, overrides and isolates,
 * and lone surrogates (which no terminal can show and no UTF-8 stream can carry).
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g
const UNSAFE_TEST = new RegExp(UNSAFE.source)
/** Text with nothing to escape, tested faster than UNSAFE_TEST (most messages are plain ASCII). */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/
/** The same set without the line feed, for text that is multi-line by design. */
const UNSAFE_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

const SHORT: Readonly<Record<string, string>> = {
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\u0000': '\\0',
  '\u0007': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\v': '\\v',
}

/** The visible form of one unsafe UTF-16 unit: `\n`, `\x1b`, `\u202e`. */
function escapeUnit(c: string): string {
  const short = SHORT[c]
  if (short !== undefined) return short
  const code = c.charCodeAt(0)
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
}

/** Whether the text holds anything `escapeControls` would change. */
export function hasControls(s: string): boolean {
  return UNSAFE_TEST.test(s)
}

/**
 * The text with every control character, bidirectional control and lone surrogate replaced by
 * a visible escape (`\n`, `\t`, `\x1b`, `\x9b`, `\u202e`). Linear in the text; text without any
 * comes back as it is. Backslashes are left alone: this is for reading, not for parsing back.
 */
export function escapeControls(s: string): string {
  if (!UNSAFE_TEST.test(s)) return s
  return s.replace(UNSAFE, escapeUnit)
}

/**
 * Like `escapeControls`, but line feeds stay: for text that is multi-line by design (a deny
 * message, a report) and whose lines were built by us. Carriage returns are still escaped, so
 * no line can be overwritten on the terminal.
 */
export function escapeControlsKeepNewlines(s: string): string {
  if (!UNSAFE_TEST.test(s)) return s
  return s.replace(UNSAFE_BUT_NEWLINE, escapeUnit)
}

const ELLIPSIS = '…'

/**
 * Renders at most `limit` code points of display: each code point of the text as itself or as
 * its escape, never cutting through an escape or a surrogate pair, ending in "…" when the text
 * did not fit. Looks at no more than `limit` code points of the text, whatever its length.
 */
function render(s: string, limit: number, escape: ((c: string) => string | undefined) | undefined): string {
  let out = ''
  let used = 0
  // Where the output stood when there was still room for the ellipsis after it.
  let fallback = 0
  let i = 0
  while (i < s.length) {
    const step = isHighSurrogateAt(s, i) ? 2 : 1
    const c = s.slice(i, i + step)
    const shown = (step === 1 && escape !== undefined ? escape(c) : undefined) ?? c
    // Escapes are ASCII: their width is their length; a surrogate pair is one character.
    const width = step === 2 ? 1 : shown.length
    if (used + width > limit) return out.slice(0, fallback) + ELLIPSIS
    out += shown
    used += width
    if (used <= limit - 1) fallback = out.length
    i += step
  }
  return out
}

function isHighSurrogateAt(s: string, i: number): boolean {
  const c = s.charCodeAt(i)
  if (c < 0xd800 || c > 0xdbff) return false
  const d = s.charCodeAt(i + 1)
  return d >= 0xdc00 && d <= 0xdfff
}

const isUnsafeUnit = (c: string): boolean => {
  const code = c.charCodeAt(0)
  return (
    code <= 0x1f ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x061c ||
    code === 0x200e ||
    code === 0x200f ||
    (code >= 0x2028 && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069) ||
    // Reached only for lone surrogates: pairs are taken two units at a time.
    (code >= 0xd800 && code <= 0xdfff)
  )
}

const escapeIfUnsafe = (c: string): string | undefined => (isUnsafeUnit(c) ? escapeUnit(c) : undefined)
const escapeForQuote = (c: string): string | undefined => (c === '"' || c === '\\' ? `\\${c}` : escapeIfUnsafe(c))

function limitOf(max: number): number {
  return Number.isFinite(max) ? Math.max(1, Math.floor(max)) : Number.MAX_SAFE_INTEGER
}

/**
 * At most `max` characters (code points, never half a surrogate pair), ending in "…" when
 * cut. Reads at most `max` characters of the text, whatever its length. Does not escape:
 * for text that is already safe; use `safeText` or `quote` for text from outside.
 */
export function shorten(s: string, max: number): string {
  const limit = limitOf(max)
  // UTF-16 length is never less than the number of code points.
  if (s.length <= limit) return s
  return render(s, limit, undefined)
}

/**
 * Escaped (as `escapeControls`) and shortened to at most `max` characters of display, never
 * cutting through an escape. Work is bounded by `max`, not by the length of the text.
 */
export function safeText(s: string, max: number): string {
  const limit = limitOf(max)
  if (s.length <= limit && (PRINTABLE_ASCII.test(s) || !UNSAFE_TEST.test(s))) return s
  return render(s, limit, escapeIfUnsafe)
}

/**
 * A name or value for a message: in double quotes, with `"` and `\` escaped as in JSON and
 * every control escaped visibly, at most `max` characters in all (quotes included), so
 * `quote('web\nDENY')` is `"web\nDENY"` on one line. Work is bounded by `max`.
 */
export function quote(s: string, max = 80): string {
  return `"${render(s, Math.max(1, limitOf(max) - 2), escapeForQuote)}"`
}

/** Characters JSON.stringify leaves raw that a terminal would act on: DEL, C1 controls, bidi controls, line separators. */
const JSON_RAW_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g

/**
 * JSON text (from JSON.stringify) made safe to print: the characters JSON.stringify leaves raw
 * but a terminal acts on become `\uXXXX` escapes. The JSON still parses to exactly the same
 * values: nothing is lost, it is only written differently.
 */
export function jsonForTerminal(json: string): string {
  return json.replace(JSON_RAW_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
