/**
 * AdmissionReview warnings as kubectl shows them: one line each, at most 120 characters, no
 * "Warning:" prefix (kubectl adds its own), and only a bounded number of them; the full list
 * is in the deny message and the log.
 */
import { escapeControls, shorten } from '../text/sanitize.js'

export const MAX_WARNING_LENGTH = 120
export const DEFAULT_MAX_WARNINGS = 10

/**
 * One printable line: control characters, bidirectional overrides and lone surrogates escaped
 * visibly (a name with a newline or U+202E in it cannot forge or disguise a line), runs of
 * spaces collapsed, a "Warning:" prefix removed.
 */
const NEEDS_CLEANING = /\s\s|^\s|\s$|^warning:/i

export function sanitizeWarning(text: string): string {
  // Only a bounded head of a text can reach the warning; escaping reads no more than that.
  const head = text.length > 4 * MAX_WARNING_LENGTH ? text.slice(0, 4 * MAX_WARNING_LENGTH) : text
  const cutMark = head !== text ? '…' : ''
  const escaped = escapeControls(head)
  if (!NEEDS_CLEANING.test(escaped)) return escaped + cutMark
  let s = escaped.replace(/\s+/g, ' ').trim()
  while (/^warning:\s*/i.test(s)) s = s.replace(/^warning:\s*/i, '')
  return s + cutMark
}

/** Cuts to `max` characters (code points, never half a surrogate pair), ending in "…" when cut. Reads at most `max` characters. */
export function truncate(text: string, max = MAX_WARNING_LENGTH): string {
  const short = shorten(text, max)
  if (short === text) return text
  let cut = short.slice(0, -1)
  // End at a word when one ends near the limit, so the cut reads as a cut, not a typo.
  const space = cut.lastIndexOf(' ')
  if (space >= cut.length * 0.75) cut = cut.slice(0, space)
  return `${cut.replace(/[\s,;:]+$/, '')}…`
}

/** What findingWarning needs of a finding. */
export interface WarningFinding {
  rule: string
  message: string
  container?: string
  path: string
}

/** The pod template's prefix of a field path, dropped in the short form: the object is known. */
const POD_SPEC_PREFIX = /^spec\.(jobTemplate\.spec\.)?(template\.)?spec\./

/** Characters as a person counts them (code points: a surrogate pair is one), without building an array. */
function length(s: string): number {
  let n = s.length
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--
        i++
      }
    }
  }
  return n
}

/**
 * The warning line of one finding, never cut mid-sentence: `rule: message` when that fits in
 * MAX_WARNING_LENGTH, else a short form that ends with the rule id: the message up to its last
 * sentence or clause end that fits (`container "app" has imagePullPolicy: Never (image-pull-…)`),
 * else where and the rule's title (`container "app": Liveness probe may kill the container
 * before it has started (probe-…)`). The full message is in the deny message, the log and
 * `pod-preflight check`. `title` is the
 * rule's title; `prefix` comes first (e.g. `would deny (audit): `).
 */
export function findingWarning(f: WarningFinding, title: string | undefined, prefix = ''): string {
  // The same findings come back review after review (every Pod of a rollout): their lines are
  // kept, bounded as formatWarning's are. The key holds every input, each separated by a NUL.
  const key = `${prefix}\u0000${title ?? '\u0001'}\u0000${f.rule}\u0000${f.container ?? '\u0001'}\u0000${f.path}\u0000${f.message}`
  if (key.length > WARNING_KEY_MAX) return warningLine(f, title, prefix)
  const known = warningLines.get(key)
  if (known !== undefined) return known
  const line = warningLine(f, title, prefix)
  if (warningLines.size >= FORMATTED_MAX) warningLines.clear()
  warningLines.set(key, line)
  return line
}

/** At most FORMATTED_MAX lines whose inputs total at most WARNING_KEY_MAX characters: about 4 MB at worst. */
const warningLines = new Map<string, string>()
const WARNING_KEY_MAX = 1_024

function warningLine(f: WarningFinding, title: string | undefined, prefix: string): string {
  const full = sanitizeWarning(`${prefix}${f.rule}: ${f.message}`)
  if (length(full) <= MAX_WARNING_LENGTH) return full
  const tail = ` (${sanitizeWarning(f.rule)})`
  // The message up to a sentence or clause end, when that fits: it carries the facts (container, value).
  const message = sanitizeWarning(f.message)
  const room = MAX_WARNING_LENGTH - length(prefix) - length(tail)
  let lead = ''
  for (const m of message.slice(0, 4 * MAX_WARNING_LENGTH).matchAll(/[.;,](?=\s)/g)) {
    const candidate = message.slice(0, m.index)
    if (length(candidate) > room) break
    lead = candidate
  }
  if (length(lead) >= 24) return `${prefix}${lead}${tail}`
  const what = sanitizeWarning(title ?? f.message)
  const fixed = length(prefix) + length(tail)
  // The title stays whole when it can; the place shrinks first, then goes.
  const whatRoom = Math.max(1, MAX_WARNING_LENGTH - fixed)
  const whatText = length(what) <= whatRoom ? what : truncate(what, whatRoom)
  const whereRoom = MAX_WARNING_LENGTH - fixed - length(whatText) - 2
  const where = sanitizeWarning(f.container !== undefined ? `container "${f.container}"` : f.path.replace(POD_SPEC_PREFIX, ''))
  // A long field path keeps its end (the field), a long container name its beginning.
  const whereText =
    whereRoom < 12 ? '' : length(where) <= whereRoom ? where : f.container !== undefined ? truncate(where, whereRoom) : `…${Array.from(where).slice(-(whereRoom - 1)).join('')}`
  const line = `${prefix}${whereText !== '' ? `${whereText}: ` : ''}${whatText}${tail}`
  return length(line) <= MAX_WARNING_LENGTH ? line : truncate(line)
}

// The same findings come back review after review; their formatted lines are kept. Bounded in
// bytes: only texts up to FORMATTED_KEY_MAX characters are kept, at most FORMATTED_MAX of them.
const formatted = new Map<string, string>()
const FORMATTED_MAX = 2_000
const FORMATTED_KEY_MAX = 1_024

export function formatWarning(text: string): string {
  const known = formatted.get(text)
  if (known !== undefined) return known
  const line = truncate(sanitizeWarning(text))
  if (text.length > FORMATTED_KEY_MAX) return line
  if (formatted.size >= FORMATTED_MAX) formatted.clear()
  formatted.set(text, line)
  return line
}

/**
 * The warnings to send: notes first, then findings, deduplicated, at most `max`; when more
 * remain, the last slot says how many were left out.
 */
export function boundWarnings(lines: readonly string[], max = DEFAULT_MAX_WARNINGS): string[] {
  if (max <= 0) return []
  const seen = new Set<string>()
  const unique: string[] = []
  for (const l of lines) {
    const w = formatWarning(l)
    if (w === '' || seen.has(w)) continue
    seen.add(w)
    unique.push(w)
  }
  if (unique.length <= max) return unique
  const keep = Math.max(0, max - 1)
  const rest = unique.length - keep
  return [...unique.slice(0, keep), formatWarning(`...and ${rest} more; run 'pod-preflight check' on the manifest to see them all`)]
}
