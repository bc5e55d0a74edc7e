/**
 * `helm template` prints every document after a comment naming the template it came from:
 *
 *     ---
 *     # Source: web/templates/deployment.yaml
 *     apiVersion: apps/v1
 *
 * A finding in such a stream is worth more at `web/templates/deployment.yaml:12` than at
 * `<stdin>:840`: this moves every location of those documents to the template, counting lines
 * from the comment (line 1 is the first line of that document of the template's output).
 */
import type { InputDocument, InputError, ReadResult, SourceLocation } from './documents.js'

/** Only paths as helm prints them (`CHART/templates/…`, `CHART/charts/SUB/templates/…`, `CHART/crds/…`). */
const SOURCE_COMMENT = /^# Source: ([^\s/]+(?:\/[^\s/]+)*\/(?:templates|crds)\/[^\s]+)[ \t]*$/
const SEPARATOR = /^---(?:[ \t]|$)/

interface Header {
  line: number
  path: string
}

/**
 * Rewrites, in place, the locations of documents (and errors) of `result` that follow a
 * `# Source:` comment in `text`. `mapPath` turns helm's path into the name to show (a chart
 * rendered here maps its chart name to its directory). Linear in the text and the documents.
 */
export function applySourceComments(text: string, result: ReadResult, mapPath: (path: string) => string = (p) => p): ReadResult {
  if (!text.includes('# Source: ')) return result
  const headers: Header[] = []
  const separators: number[] = []
  let line = 1
  let start = 0
  while (start <= text.length) {
    let end = text.indexOf('\n', start)
    if (end === -1) end = text.length
    const l = text.slice(start, end).replace(/\r$/, '')
    if (SEPARATOR.test(l)) separators.push(line)
    else if (l.startsWith('# Source: ')) {
      const m = SOURCE_COMMENT.exec(l)
      if (m?.[1] !== undefined) headers.push({ line, path: mapPath(m[1]) })
    }
    line++
    start = end + 1
  }
  if (headers.length === 0) return result
  // The header that governs a line: the last one above it with no separator in between.
  const governing = (at: number): Header | undefined => {
    const h = lastBelow(headers, at, (x) => x.line)
    if (h === undefined) return undefined
    const s = lastBelow(separators, at, (x) => x)
    return s !== undefined && s > h.line ? undefined : h
  }
  const stream = new Set<string>()
  for (const d of result.documents) stream.add(d.source.file)
  const move = (loc: SourceLocation, h: Header): SourceLocation => {
    if (loc.line === undefined || !stream.has(loc.file)) return loc
    const moved: SourceLocation = { file: h.path, line: loc.line - h.line }
    if (loc.column !== undefined) moved.column = loc.column
    return moved
  }
  result.documents = result.documents.map((d): InputDocument => {
    const h = d.source.line !== undefined ? governing(d.source.line) : undefined
    if (h === undefined) return d
    return { value: d.value, source: move(d.source, h), locate: (path) => move(d.locate(path), h) }
  })
  result.errors = result.errors.map((e): InputError => {
    if (e.line === undefined) return e
    const h = governing(e.line)
    if (h === undefined) return e
    return { ...e, file: h.path, line: e.line - h.line }
  })
  return result
}

/** The last item whose key is below `at`, by binary search over items sorted by key. */
function lastBelow<T>(items: readonly T[], at: number, key: (x: T) => number): T | undefined {
  let lo = 0
  let hi = items.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const item = items[mid]
    if (item !== undefined && key(item) < at) lo = mid + 1
    else hi = mid
  }
  return lo > 0 ? items[lo - 1] : undefined
}
