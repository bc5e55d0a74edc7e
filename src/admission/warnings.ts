/**
 * AdmissionReview warnings as kubectl shows them: one line each, at most 120 characters, no
 * "Warning:" prefix (kubectl adds its own), and only a bounded number of them; the full list
 * is in the deny message and the log.
 */
export const MAX_WARNING_LENGTH = 120
export const DEFAULT_MAX_WARNINGS = 10

/** One printable line: control characters become spaces, runs of spaces collapse, a "Warning:" prefix goes. */
const NEEDS_CLEANING = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]|\s\s|^\s|\s$|^warning:/i

export function sanitizeWarning(text: string): string {
  if (!NEEDS_CLEANING.test(text)) return text
  let s = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim()
  while (/^warning:\s*/i.test(s)) s = s.replace(/^warning:\s*/i, '')
  return s
}

/** Cuts to `max` characters (code points, never half a surrogate pair), ending in "…" when cut. */
export function truncate(text: string, max = MAX_WARNING_LENGTH): string {
  // UTF-16 length is never less than the number of characters.
  if (text.length <= max) return text
  const chars = Array.from(text)
  if (chars.length <= max) return text
  let cut = chars.slice(0, max - 1).join('')
  // End at a word when one ends near the limit, so the cut reads as a cut, not a typo.
  const space = cut.lastIndexOf(' ')
  if (space >= cut.length * 0.75) cut = cut.slice(0, space)
  return `${cut.replace(/[\s,;:]+$/, '')}…`
}

// The same findings come back review after review; their formatted lines are kept.
const formatted = new Map<string, string>()
const FORMATTED_MAX = 5_000

export function formatWarning(text: string): string {
  const known = formatted.get(text)
  if (known !== undefined) return known
  const line = truncate(sanitizeWarning(text))
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
