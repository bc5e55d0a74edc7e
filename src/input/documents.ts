import { readFile, stat } from 'node:fs/promises'
import { createReadStream, type Stats } from 'node:fs'
import { relative, resolve } from 'node:path'
import type { Readable } from 'node:stream'
import type { Document, DocumentOptions, ParseOptions, SchemaOptions } from 'yaml'
import { yamlModule } from '../lazy-modules.js'
import jsyaml from 'js-yaml'
import { JS_YAML_SCHEMA, YAML_PLAIN_TAG } from './scalars.js'
import { TextLocator } from './locate.js'
import { formatPath, type PathSegment } from './field-path.js'
import { WalkMemory, walkManifestDirectory } from './walk.js'
import { applySourceComments } from './source-comments.js'

/** Where something came from, for messages and for SARIF regions. */
export interface SourceLocation {
  file: string
  line?: number
  column?: number
}

/** One Kubernetes object read from the input, with a way to find the line of any of its fields. */
export interface InputDocument {
  value: unknown
  source: SourceLocation
  /** The line and column of a field of this object, or of the object itself when the field is absent. */
  locate(path: readonly PathSegment[]): SourceLocation
  /** The text of the unquoted scalar at exactly this path, as written (for "quote it" hints). */
  plainScalar?(path: readonly PathSegment[]): string | undefined
}

/** Input that could not be read or parsed: reported, never thrown at the user. */
export interface InputError {
  file: string
  line?: number
  column?: number
  message: string
}

export interface ReadResult {
  documents: InputDocument[]
  errors: InputError[]
}

export interface ReadOptions {
  /** Files larger than this are refused with an error instead of being parsed. */
  maxFileBytes?: number
  /** How many alias expansions a YAML document may make before it is treated as a YAML bomb. */
  maxAliasCount?: number
  /** Read with the position-keeping reader only (the reader before the fast path); for comparisons. */
  exact?: boolean
}

export const DEFAULT_MAX_FILE_BYTES = 32 * 1024 * 1024
const DEFAULT_MAX_ALIAS_COUNT = 1000

function mib(n: number): string {
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`
}

/**
 * Parses the text of one file or stream: multi-document YAML, or JSON. Lists are expanded.
 *
 * Values are read with js-yaml (about ten times faster than a reader that keeps positions),
 * plain scalars resolved as kubectl resolves them (scalars.ts). Positions are found only when a
 * finding or an error asks for one, by scanning the document's text (locate.ts). A file the
 * fast reader cannot take as it is (a syntax error, a duplicate key, aliases, directives, tags
 * it does not know) is read by the position-keeping reader (the yaml package), which says
 * where the problem is; a position the scanner is not sure of is asked of that reader too,
 * for that document only. Both give the same values, lines and columns.
 */
export function parseDocuments(text: string, file: string, options: ReadOptions = {}): ReadResult {
  const refused = precheck(text, file)
  if (refused !== undefined) return refused
  if (options.exact !== true) {
    const fast = readFast(text, file)
    if (fast !== undefined) return fast
  }
  return readExact(text, file, options)
}

function precheck(text: string, file: string): ReadResult | undefined {
  if (text.includes('\u0000')) {
    return { documents: [], errors: [{ file, message: 'not a text file (it contains NUL bytes); give YAML or JSON manifests' }] }
  }
  if (text.includes('\uFFFD')) {
    return { documents: [], errors: [{ file, message: 'not valid UTF-8 text; give YAML or JSON manifests' }] }
  }
  const depth = flowDepth(text, MAX_FLOW_DEPTH)
  if (depth > MAX_FLOW_DEPTH) {
    return { documents: [], errors: [{ file, message: `the input is nested more than ${MAX_FLOW_DEPTH} levels deep; no Kubernetes object is, so it is not read` }] }
  }
  return undefined
}

/** The options of the position-keeping reader: YAML 1.2 syntax, kubectl's (YAML 1.1) plain scalars. */
const EXACT_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = { prettyErrors: false, uniqueKeys: true, schema: 'failsafe', customTags: [YAML_PLAIN_TAG] }

/** A line starting a document (`---`). */
const DOC_MARKER = /^---(?=[ \t\r\n]|$)/gm
/** A line holding something else than spaces and a comment. */
const CONTENT_LINE = /^[ \t]*[^ \t\r\n#]/m

/** Where `^` matches in a multi-line regular expression: after these, or at the start. */
function isLineTerminator(c: number): boolean {
  return c === 10 || c === 13 || c === 0x2028 || c === 0x2029
}

/** What `\s` matches in a regular expression. */
function isRegExpSpace(c: number): boolean {
  if (c === 32 || (c >= 9 && c <= 13)) return true
  return c > 127 && /\s/.test(String.fromCharCode(c))
}

/**
 * Whether a line ends a document (`...` alone or before a space) or is a directive (`%YAML`):
 * what the fast reader leaves to the exact one. Linear: each `...` and `%` is looked at once.
 */
export function hasDocumentEndOrDirective(text: string): boolean {
  for (let i = text.indexOf('...'); i >= 0; i = text.indexOf('...', i + 1)) {
    if (i > 0 && !isLineTerminator(text.charCodeAt(i - 1))) continue
    const next = text.charCodeAt(i + 3)
    if (i + 3 >= text.length || next === 32 || next === 9 || isLineTerminator(next)) return true
  }
  for (let i = text.indexOf('%'); i >= 0; i = text.indexOf('%', i + 1)) {
    if (i === 0 || isLineTerminator(text.charCodeAt(i - 1))) return true
  }
  return false
}

/**
 * Whether there may be an alias: `*name` where a node starts (after `: `, `- `, `? `, `[`, `{`,
 * `,` or at the start of a line, spaces and line breaks between). js-yaml shares an aliased
 * node instead of copying it, so the alias count of a YAML bomb is only bounded by the exact
 * reader; a false match (inside a quoted string) only costs speed. Linear: each `*` is looked
 * at once, with the spaces right before it (a `*` is not a space, so no two walks overlap).
 */
export function mayHaveAlias(text: string): boolean {
  for (let i = text.indexOf('*'); i >= 0; i = text.indexOf('*', i + 1)) {
    const next = text.charCodeAt(i + 1)
    // `*` must be followed by a name character.
    if (i + 1 >= text.length || isRegExpSpace(next) || next === 44 || next === 91 || next === 93 || next === 123 || next === 125) continue
    let j = i - 1
    let spaces = false
    // Only spaces and tabs between the `*` and the nearest line break (or the start) so far.
    let blank = true
    let lineStart = false
    for (; j >= 0; j--) {
      const c = text.charCodeAt(j)
      if (!isRegExpSpace(c)) break
      if (isLineTerminator(c)) lineStart ||= blank
      else if (c !== 32 && c !== 9) blank = false
      spaces = true
    }
    if (lineStart || (j < 0 && blank)) return true
    if (j < 0) continue
    const c = text.charCodeAt(j)
    if (c === 91 || c === 123 || c === 44) return true
    if (spaces && (c === 58 || c === 63 || c === 45)) return true
  }
  return false
}

function readFast(text: string, file: string): ReadResult | undefined {
  if (hasDocumentEndOrDirective(text) || mayHaveAlias(text)) return undefined
  let values: unknown[]
  try {
    values = jsyaml.loadAll(text, undefined, { schema: JS_YAML_SCHEMA }) as unknown[]
  } catch {
    return undefined // the exact reader says what and where
  }
  // The documents' spans, to find positions in: from one `---` to the next.
  const starts: number[] = []
  DOC_MARKER.lastIndex = 0
  for (let m = DOC_MARKER.exec(text); m !== null; m = DOC_MARKER.exec(text)) starts.push(m.index)
  if (starts[0] !== 0 && (starts.length === 0 ? text.length > 0 : CONTENT_LINE.test(text.slice(0, starts[0])))) starts.unshift(0)
  if (starts.length !== values.length) return undefined
  const documents: InputDocument[] = []
  const errors: InputError[] = []
  // Each document's line starts, found once as the documents go: the next one starts on the
  // line where this one ends.
  let line = positionInText(text, starts[0] ?? 0).line
  // The scanner of the document located last, with the nodes it found and the exact reading if
  // one was needed: the positions of a document are asked for while it is judged, one document
  // after the other, so one is kept for the whole text. A document asked about again gets a new
  // one. Keeping a scanner per document would keep every document's nodes alive for the whole run.
  let recent: { lines: DocumentLines; scanner: TextLocator; exact: Document.Parsed | null | undefined } | undefined
  for (let i = 0; i < values.length; i++) {
    const value = values[i]
    const start = starts[i] ?? 0
    const end = starts[i + 1] ?? text.length
    const lines = new DocumentLines(text, start, end, line)
    line = lines.endLine
    if (value === null || value === undefined) continue
    const at = (offset: number): { line: number; column: number } => lines.at(offset)
    const mine = (): { scanner: TextLocator; exact: Document.Parsed | null | undefined } => {
      if (recent === undefined || recent.lines !== lines) recent = { lines, scanner: new TextLocator(text, start, end), exact: undefined }
      return recent
    }
    const offsetOf = (path: readonly PathSegment[]): number => {
      const kept = mine()
      const found = kept.scanner.locate(path)
      if (found !== undefined) return found
      // The scanner is not sure: ask the exact reader, for this document only.
      if (kept.exact === undefined) {
        const docs = yamlModule().parseAllDocuments(text.slice(start, end), EXACT_OPTIONS) as Document.Parsed[]
        kept.exact = Array.isArray(docs) && docs.length === 1 && docs[0] !== undefined && docs[0].errors.length === 0 ? docs[0] : null
      }
      const exact = kept.exact
      if (exact === null) return start
      for (let n = path.length; n >= 0; n--) {
        const node = exact.getIn(path.slice(0, n), true)
        if (yamlModule().isNode(node) && node.range) return start + node.range[0]
      }
      return start + exact.range[0]
    }
    const locateIn = (prefix: readonly PathSegment[]) => (path: readonly PathSegment[]): SourceLocation => {
      const { line, column } = at(offsetOf(prefix.length === 0 ? path : [...prefix, ...path]))
      return { file, line, column }
    }
    const plainIn = (prefix: readonly PathSegment[]) => (path: readonly PathSegment[]): string | undefined => {
      return mine().scanner.plainScalar([...prefix, ...path])
    }
    pushExpanded(documents, errors, value, [], file, locateIn, plainIn)
  }
  return { documents, errors }
}

/**
 * Offset to line and column (both from 1), as the yaml package's LineCounter counts them, for
 * the offsets of one document: text[start, end), whose first line is `firstLine`. An offset
 * outside the document (none is expected) is counted from the start of the text.
 */
class DocumentLines {
  readonly #text: string
  readonly #start: number
  readonly #end: number
  readonly #firstLine: number
  readonly #starts: number[]

  constructor(text: string, start: number, end: number, firstLine: number) {
    this.#text = text
    this.#start = start
    this.#end = end
    this.#firstLine = firstLine
    const s = [start]
    for (let i = text.indexOf('\n', start); i >= 0 && i < end; i = text.indexOf('\n', i + 1)) s.push(i + 1)
    this.#starts = s
  }

  /** The line of `end`, where the next document starts. */
  get endLine(): number {
    return this.#firstLine + this.#starts.length - 1
  }

  at(offset: number): { line: number; column: number } {
    if (offset < this.#start || offset > this.#end) return positionInText(this.#text, offset)
    return lineAndColumn(offset, this.#firstLine, this.#starts)
  }
}

/** The line and column of `offset`, by binary search in `starts` (the line starts from the first line, `firstLine`, on). */
function lineAndColumn(offset: number, firstLine: number, starts: readonly number[]): { line: number; column: number } {
  let lo = 0
  let hi = starts.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if ((starts[mid] ?? 0) <= offset) lo = mid
    else hi = mid - 1
  }
  return { line: firstLine + lo, column: offset - (starts[lo] ?? 0) + 1 }
}

/** The line and column of `offset`, counted from the start of the text (linear). */
function positionInText(text: string, offset: number): { line: number; column: number } {
  let line = 1
  let lineStart = 0
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++
    lineStart = i + 1
  }
  return { line, column: offset - lineStart + 1 }
}

/** The position-keeping reader: every value, error and position from the yaml package. */
function readExact(text: string, file: string, options: ReadOptions): ReadResult {
  const documents: InputDocument[] = []
  const errors: InputError[] = []
  const maxAliasCount = options.maxAliasCount ?? DEFAULT_MAX_ALIAS_COUNT
  const { LineCounter, parseAllDocuments, isNode, isScalar } = yamlModule()
  const lineCounter = new LineCounter()
  let parsed: Document.Parsed[]
  try {
    parsed = parseAllDocuments(text, { ...EXACT_OPTIONS, lineCounter }) as Document.Parsed[]
    if (!Array.isArray(parsed)) parsed = [parsed]
  } catch (err) {
    errors.push({ file, message: `cannot parse: ${describeParseFailure(err)}` })
    return { documents, errors }
  }
  const at = (offset: number): { line: number; column: number } => {
    const p = lineCounter.linePos(offset)
    return { line: p.line, column: p.col }
  }
  for (const doc of parsed) {
    const start = at(doc.range[0])
    if (doc.errors.length > 0) {
      // The first error of a document is the cause; the rest are usually its echoes.
      const e = doc.errors[0]
      if (e !== undefined) errors.push({ file, ...at(e.pos[0]), message: describeParseFailure(e) })
      continue
    }
    let value: unknown
    try {
      value = doc.toJS({ maxAliasCount })
    } catch (err) {
      errors.push({ file, ...start, message: `cannot read this document: ${describeParseFailure(err)}` })
      continue
    }
    if (value === null || value === undefined) continue // an empty document, e.g. after a trailing ---
    const locateIn = (prefix: readonly PathSegment[]) => (path: readonly PathSegment[]): SourceLocation => {
      const full = [...prefix, ...path]
      // Walk up to the nearest field that exists, so a missing field points at its parent.
      for (let n = full.length; n >= 0; n--) {
        const node = doc.getIn(full.slice(0, n), true)
        if (isNode(node) && node.range) return { file, ...at(node.range[0]) }
      }
      return { file, ...start }
    }
    const plainIn = (prefix: readonly PathSegment[]) => (path: readonly PathSegment[]): string | undefined => {
      const node = doc.getIn([...prefix, ...path], true)
      return isScalar(node) && node.type === 'PLAIN' && typeof node.source === 'string' ? node.source : undefined
    }
    pushExpanded(documents, errors, value, [], file, locateIn, plainIn)
  }
  return { documents, errors }
}

function pushExpanded(
  documents: InputDocument[],
  errors: InputError[],
  value: unknown,
  prefix: PathSegment[],
  file: string,
  locateIn: (prefix: readonly PathSegment[]) => (path: readonly PathSegment[]) => SourceLocation,
  plainIn: (prefix: readonly PathSegment[]) => (path: readonly PathSegment[]) => string | undefined,
): void {
  if (Array.isArray(value) && prefix.length === 0) {
    // A JSON array of objects at the top: each item is an object of its own.
    value.forEach((item, i) => pushExpanded(documents, errors, item, [...prefix, i], file, locateIn, plainIn))
    return
  }
  if (isList(value)) {
    const items = value['items']
    if (!Array.isArray(items)) {
      errors.push({ ...locateIn(prefix)([]), message: `${formatPath([...prefix, 'items']) || 'items'}: a ${String(value['kind'])} must have an items list` })
      return
    }
    items.forEach((item, i) => pushExpanded(documents, errors, item, [...prefix, 'items', i], file, locateIn, plainIn))
    return
  }
  const locate = locateIn(prefix)
  documents.push({ value, source: locate([]), locate, plainScalar: plainIn(prefix) })
}

/** `kind: List` and the typed lists kubectl prints (PodList, ...) carry their objects in items. */
function isList(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const kind = (value as Record<string, unknown>)['kind']
  return typeof kind === 'string' && (kind === 'List' || kind.endsWith('List')) && 'items' in value
}

/** Kubernetes objects are shallow; anything deeper than this is refused before parsing. */
const MAX_FLOW_DEPTH = 256

/**
 * The deepest nesting of [ and { outside double-quoted strings, counted up to a bound. Parsers
 * recurse on nesting, so a small file of brackets can exhaust the stack or the heap.
 */
export function flowDepth(text: string, bound: number): number {
  let depth = 0
  let max = 0
  // Jumps from one character that matters to the next: the regular expression engine skips
  // the rest faster than a loop over every character (test, not exec: no match object each).
  const interesting = /["[\]{}]/g
  while (interesting.test(text)) {
    const i = interesting.lastIndex - 1
    const ch = text.charCodeAt(i)
    if (ch === 34 /* " */) {
      // To the closing quote: one not escaped, i.e. after an even run of backslashes. Each
      // run is counted once (it ends at its quote), so the scan stays linear.
      let q = text.indexOf('"', i + 1)
      for (;;) {
        if (q < 0) return max
        let backslashes = 0
        for (let b = q - 1; b > i && text.charCodeAt(b) === 92; b--) backslashes++
        if (backslashes % 2 === 0) break
        q = text.indexOf('"', q + 1)
      }
      interesting.lastIndex = q + 1
    } else if (ch === 91 || ch === 123) {
      depth++
      if (depth > max) {
        max = depth
        if (max > bound) return max
      }
    } else if (depth > 0) depth--
  }
  return max
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s
}

function describeParseFailure(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  if (err instanceof RangeError || /call stack/i.test(message)) return 'the document is nested too deeply'
  if (/alias count|resource exhaustion/i.test(message)) {
    return 'too many alias expansions (a YAML bomb?); expand the aliases or split the document'
  }
  return firstLine(message)
}

async function readStream(stream: Readable, maxBytes: number): Promise<Buffer | InputError> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stream) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
    size += b.length
    if (size > maxBytes) return { file: '<stdin>', message: `standard input is larger than the ${mib(maxBytes)} limit (--max-file-size)` }
    chunks.push(b)
  }
  return Buffer.concat(chunks)
}

function decode(buf: Buffer, file: string, options: ReadOptions): ReadResult {
  const probe = buf.subarray(0, 8192)
  if (probe.includes(0)) return { documents: [], errors: [{ file, message: 'not a text file (it contains NUL bytes); give YAML or JSON manifests' }] }
  const text = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false }).decode(buf)
  // helm template output: locations move to the template named by each `# Source:` comment.
  return applySourceComments(text, parseDocuments(text, file, options))
}

/**
 * Reads files, directories (recursively: *.yaml, *.yml, *.json, following symbolic links, see
 * walk.ts) and `-` for standard input. Each real file is read once per call, however many
 * names lead to it. Every problem is returned as an InputError naming the file; the other
 * inputs are still read.
 */
export async function readInputs(
  paths: readonly string[],
  io: { stdin: Readable; cwd: string },
  options: ReadOptions = {},
): Promise<ReadResult> {
  const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES
  const result: ReadResult = { documents: [], errors: [] }
  const add = (r: ReadResult): void => {
    result.documents.push(...r.documents)
    result.errors.push(...r.errors)
  }
  const display = (abs: string): string => {
    const rel = relative(io.cwd, abs)
    return rel === '' || rel.startsWith('..') ? abs : rel
  }
  const memory = new WalkMemory()
  const readFileAt = async (abs: string, name: string, st: Stats): Promise<void> => {
    if (st.size > maxBytes) {
      result.errors.push({ file: name, message: `file is ${mib(st.size)}, above the ${mib(maxBytes)} limit; split it or raise --max-file-size` })
      return
    }
    let buf: Buffer
    try {
      buf = await readFile(abs)
    } catch (err) {
      result.errors.push({ file: name, message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` })
      return
    }
    add(decode(buf, name, options))
  }
  const readArgument = async (abs: string, name: string): Promise<void> => {
    let st
    try {
      st = await stat(abs)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      result.errors.push({ file: name, message: code === 'ENOENT' ? 'no such file or directory' : code === 'ELOOP' ? 'symbolic link loop' : `cannot read: ${code ?? String(err)}` })
      return
    }
    if (st.isDirectory()) {
      const walked = await walkManifestDirectory(abs, memory)
      for (const p of walked.problems) result.errors.push({ file: display(p.path), message: p.message })
      for (const f of walked.files) await readFileAt(f.path, display(f.path), f.stats)
      return
    }
    // The same file named twice, or named and also found in a named directory, is read once.
    if (!memory.first(st)) return
    if (!st.isFile()) {
      // A named pipe or a process substitution (<(kubectl get ...)) is read like a file.
      try {
        const buf = await readStream(createReadStream(abs), maxBytes)
        if ('message' in buf) result.errors.push({ file: name, message: buf.message.replace('standard input', 'this input') })
        else add(decode(buf, name, options))
      } catch (err) {
        result.errors.push({ file: name, message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` })
      }
      return
    }
    await readFileAt(abs, name, st)
  }
  for (const p of paths) {
    if (p === '-') {
      const buf = await readStream(io.stdin, maxBytes)
      if ('message' in buf) result.errors.push(buf)
      else add(decode(buf, '<stdin>', options))
      continue
    }
    const abs = resolve(io.cwd, p)
    await readArgument(abs, p)
  }
  return result
}
