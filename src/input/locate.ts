/**
 * Where a field starts in YAML text, found by scanning the text itself: no parse tree is built.
 *
 * The fast reader (js-yaml) gives values without positions; a finding needs the line of one
 * field. This scanner follows a field path down block mappings, block sequences and flow
 * collections (JSON included), and answers the offset the position-keeping reader (the yaml
 * package) gives for the same node: the node's first character after its indicator and
 * spaces, or, for an empty value, the place right after the indicator. Anything it is not sure
 * about (anchors, tags, aliases, explicit `?` keys, tabs in indentation, multi-line keys, keys
 * that are not strings to kubectl) makes it answer `undefined`, and the caller asks the exact
 * reader instead. It reads only valid YAML (the fast reader accepted the document).
 *
 * Bounded: one lookup reads each character of the document at most a few times (lines are
 * skipped by indentation, flow collections by a linear scan); nodes are cached per path prefix,
 * at most 4,096 per document. A sequence kept in that cache remembers where each item it has
 * stepped over starts (a number an item, at most MAX_ITEM_STARTS of them), and a lookup goes
 * on from the nearest item already found: asking for every item of a List (as reading one
 * does, for each item's position, and as locating each item's findings does again) reads the
 * List once, not once per item.
 */
import { plainIsText, resolvePlain } from './scalars.js'
import type { PathSegment } from './field-path.js'

const SPACE = 32
const TAB = 9
const LF = 10
const CR = 13
const HASH = 35
const DASH = 45
const COLON = 58

function isWsOrEol(c: number): boolean {
  return c === SPACE || c === TAB || c === LF || c === CR || Number.isNaN(c)
}

class Unsure extends Error {}
const UNSURE = new Unsure()

/** The offset where a node's content starts, and what kind of node is there. */
type NodeAt = { offset: number; empty: boolean }
/**
 * A node as the cache keeps it: with the children looked up under it (null: absent), in a short
 * list of key, child pairs (most nodes have one to three asked for) and in a Map past
 * `MAX_LISTED_KIDS`, so a lookup never scans more than that many.
 */
type CachedNode = NodeAt & {
  kids?: (PathSegment | CachedNode | null)[] | undefined
  kidMap?: Map<PathSegment, CachedNode | null>
  /** For a sequence: where each of its first items starts (its `-` in a block sequence), as far as lookups have reached. */
  starts?: number[]
}
const MAX_LISTED_KIDS = 8

/** The child kept under `node` for `seg`: undefined when not looked up yet. */
function keptChild(node: CachedNode, seg: PathSegment): CachedNode | null | undefined {
  if (node.kidMap !== undefined) return node.kidMap.get(seg)
  const kids = node.kids
  if (kids === undefined) return undefined
  for (let i = 0; i < kids.length; i += 2) if (kids[i] === seg) return kids[i + 1] as CachedNode | null
  return undefined
}

function keepChild(node: CachedNode, seg: PathSegment, child: CachedNode | null): void {
  if (node.kidMap !== undefined) {
    node.kidMap.set(seg, child)
    return
  }
  const kids = node.kids
  if (kids === undefined) {
    node.kids = [seg, child]
    return
  }
  if (kids.length < 2 * MAX_LISTED_KIDS) {
    kids.push(seg, child)
    return
  }
  const map = new Map<PathSegment, CachedNode | null>()
  for (let i = 0; i < kids.length; i += 2) map.set(kids[i] as PathSegment, kids[i + 1] as CachedNode | null)
  map.set(seg, child)
  node.kidMap = map
  node.kids = undefined
}
/** Item starts kept per sequence at most: a number each, 8 MB at most for the longest sequence. */
const MAX_ITEM_STARTS = 1 << 20

/** Notes that item `index` of the sequence `node` starts at `at`, when it is the next one not noted yet. */
function noteStart(node: CachedNode | undefined, index: number, at: number): void {
  if (node === undefined) return
  const starts = (node.starts ??= [])
  if (index === starts.length && index < MAX_ITEM_STARTS) starts.push(at)
}

/** Nodes kept per document at most. */
const MAX_CACHED_NODES = 4096

export class TextLocator {
  readonly #t: string
  readonly #end: number
  readonly #root: number | undefined
  /** The document's top node, with the nodes found under it so far (null where a field is absent). */
  #rootNode: CachedNode | undefined
  /** How many nodes are kept, at most MAX_CACHED_NODES. */
  #cached = 0
  /** The indentation of the line #nextContentLine found last (a second result, without an object per line). */
  #indent = 0
  /** Whether the line #nextLineAtIndent found last starts a block sequence item ("- "). */
  #item = false
  /** Sequence items stepped over while looking for a later one, over every lookup. */
  #passed = 0

  /** text[start, end) is one document, from its `---` marker (if any) to the next marker. */
  constructor(text: string, start: number, end: number) {
    this.#t = text
    this.#end = end
    this.#root = this.#rootStart(start)
  }

  /** Sequence items this locator has stepped over while looking for later ones, over all its lookups: at most once each, for the items of kept sequences. */
  get itemsPassed(): number {
    return this.#passed
  }

  /**
   * The offset of the deepest node along `path` that exists (a missing field points at its
   * parent), or undefined when the scanner cannot be sure.
   */
  locate(path: readonly PathSegment[]): number | undefined {
    try {
      return this.#locate(path)
    } catch (err) {
      if (!(err instanceof Unsure)) throw err
      return undefined
    }
  }

  #locate(path: readonly PathSegment[]): number | undefined {
    if (this.#root === undefined) return undefined
    this.#rootNode ??= { offset: this.#root, empty: false }
    let node: CachedNode = this.#rootNode
    // Findings of one object share long prefixes (spec.template.spec.containers[0]...): each
    // prefix is scanned once per document; a node keeps the children found under it (a key
    // "0" and the index 0 are different keys of a Map).
    for (const seg of path) {
      if (node.empty) return node.offset
      let child = keptChild(node, seg)
      if (child === undefined) {
        child = (this.#child(node.offset, seg, node) as CachedNode | undefined) ?? null
        if (this.#cached < MAX_CACHED_NODES) {
          keepChild(node, seg, child)
          this.#cached++
        }
      }
      if (child === null) return node.offset
      node = child
    }
    return node.offset
  }

  /**
   * The text of the plain (unquoted) scalar at exactly `path`, as written on its first line;
   * undefined when the field is absent, is not a plain scalar, or the scanner is not sure.
   * The caller checks that the text resolves to the value read.
   */
  plainScalar(path: readonly PathSegment[]): string | undefined {
    if (this.#root === undefined) return undefined
    try {
      let node: NodeAt = { offset: this.#root, empty: false }
      let inFlow = false
      for (const seg of path) {
        if (node.empty) return undefined
        const c = this.#t.charCodeAt(node.offset)
        const child = this.#child(node.offset, seg)
        if (child === undefined) return undefined
        inFlow = inFlow || c === 123 || c === 91
        node = child
      }
      if (node.empty) return undefined
      const t = this.#t
      const c = t.charCodeAt(node.offset)
      if (c === 34 || c === 39 || c === 123 || c === 91 || c === 124 || c === 62 || c === 38 || c === 33 || c === 42) return undefined
      let end: number
      if (inFlow) end = this.#plainEnd(node.offset)
      else {
        end = node.offset
        while (end < this.#end) {
          const ch = t.charCodeAt(end)
          if (ch === LF || ch === CR || (ch === HASH && (t.charCodeAt(end - 1) === SPACE || t.charCodeAt(end - 1) === TAB))) break
          end++
        }
      }
      const text = t.slice(node.offset, end).replace(/[ \t]+$/, '')
      return text
    } catch (err) {
      if (err instanceof Unsure) return undefined
      throw err
    }
  }

  #rootStart(start: number): number | undefined {
    const t = this.#t
    let p = start
    if (t.startsWith('---', p) && isWsOrEol(t.charCodeAt(p + 3))) {
      p += 3
      while (t.charCodeAt(p) === SPACE) p++
      const c = t.charCodeAt(p)
      if (c !== LF && c !== CR && c !== HASH && p < this.#end) return undefined // content on the marker line
    }
    const first = this.#nextContentLine(p)
    return first < 0 ? undefined : first
  }

  /**
   * The first non-blank, non-comment line at or after offset p (p at a line start or in a
   * line's tail): the offset of its content, or -1; its indentation is left in #indent.
   */
  #nextContentLine(p: number): number {
    const t = this.#t
    const end = this.#end
    // finish the current line
    let lineStart = p
    // If p is mid-line, only whitespace or a comment may remain on it.
    for (;;) {
      let q = lineStart
      while (q < end && t.charCodeAt(q) === SPACE) q++
      if (q < end && t.charCodeAt(q) === TAB) {
        // a tab before content: only allowed on blank or comment lines
        let r = q
        while (r < end && (t.charCodeAt(r) === SPACE || t.charCodeAt(r) === TAB)) r++
        const c = t.charCodeAt(r)
        if (r < end && c !== LF && c !== CR && c !== HASH) throw UNSURE
        q = r
      }
      if (q >= end) return -1
      const c = t.charCodeAt(q)
      if (c === LF || c === CR || c === HASH) {
        const nl = t.indexOf('\n', q)
        if (nl < 0 || nl + 1 >= end) return -1
        lineStart = nl + 1
        continue
      }
      if (lineStart !== p && p !== lineStart) {
        // fallthrough: content found on a later line
      }
      this.#indent = q - this.#lineStart(q)
      return q
    }
  }

  #lineStart(p: number): number {
    return this.#t.lastIndexOf('\n', p - 1) + 1
  }

  /** The child `seg` of the node at `offset`; `node`, when given, is that node as kept: the item starts it holds are used and extended. */
  #child(offset: number, seg: PathSegment, node?: CachedNode): NodeAt | undefined {
    const t = this.#t
    const c = t.charCodeAt(offset)
    if (c === 123 /* { */ || c === 91 /* [ */) return this.#flowChild(offset, seg, node)
    if (c === DASH && isWsOrEol(t.charCodeAt(offset + 1))) {
      if (typeof seg !== 'number') return undefined
      return this.#blockSeqItem(offset, seg, node)
    }
    if (c === 38 /* & */ || c === 33 /* ! */ || c === 42 /* * */ || c === 63 /* ? */ || c === 37 /* % */) throw UNSURE
    if (c === 124 /* | */ || c === 62 /* > */) return undefined // a block scalar
    const key = this.#blockKey(offset, seg)
    if (key === 0) return undefined // a scalar
    if (typeof seg !== 'string') return undefined
    return this.#blockMapValue(offset, key, seg)
  }

  /**
   * A block mapping key at p, compared with `seg`: 0 when the text at p is not a key (a
   * scalar); else the offset after its `:`, positive when the key is `seg`, negated when it is
   * another key. A plain key is compared where it stands, without copying it, unless kubectl
   * could read it as something else than text (`yes`, `1`), which makes the scanner unsure.
   */
  #blockKey(p: number, seg: PathSegment): number {
    const t = this.#t
    const c = t.charCodeAt(p)
    let q: number
    if (c === 34 /* " */ || c === 39 /* ' */) {
      const close = this.#quotedEnd(p)
      const raw = t.slice(p, close)
      if (raw.includes('\n')) throw UNSURE
      const key = this.#unquote(raw)
      q = close
      while (t.charCodeAt(q) === SPACE) q++
      if (t.charCodeAt(q) !== COLON || !isWsOrEol(t.charCodeAt(q + 1))) {
        if (t.charCodeAt(q) === COLON) throw UNSURE
        return 0
      }
      return key === seg ? q + 1 : -(q + 1)
    }
    if (c === 38 || c === 33 || c === 42 || c === 63 || c === 123 || c === 91 || c === 124 || c === 62 || c === 64 || c === 96 || c === 37) throw UNSURE
    q = p
    const end = this.#end
    for (;;) {
      if (q >= end) return 0
      const ch = t.charCodeAt(q)
      if (ch === LF || ch === CR) return 0
      if (ch === COLON && isWsOrEol(t.charCodeAt(q + 1))) break
      if (ch === HASH && (t.charCodeAt(q - 1) === SPACE || t.charCodeAt(q - 1) === TAB)) return 0
      q++
    }
    let e = q
    while (e > p && (t.charCodeAt(e - 1) === SPACE || t.charCodeAt(e - 1) === TAB)) e--
    let same: boolean
    if (plainIsText(c, e - p)) same = typeof seg === 'string' && seg.length === e - p && t.startsWith(seg, p)
    else {
      const key = t.slice(p, e)
      if (typeof resolvePlain(key) !== 'string') throw UNSURE
      same = key === seg
    }
    return same ? q + 1 : -(q + 1)
  }

  #quotedEnd(p: number): number {
    const t = this.#t
    const quote = t.charCodeAt(p)
    let q = p + 1
    const end = this.#end
    while (q < end) {
      const ch = t.charCodeAt(q)
      if (quote === 34 && ch === 92 /* \ */) {
        q += 2
        continue
      }
      if (ch === quote) {
        if (quote === 39 && t.charCodeAt(q + 1) === 39) {
          q += 2
          continue
        }
        return q + 1
      }
      q++
    }
    throw UNSURE
  }

  #unquote(raw: string): string {
    if (raw.charCodeAt(0) === 39) return raw.slice(1, -1).replaceAll("''", "'")
    try {
      const v: unknown = JSON.parse(raw)
      if (typeof v === 'string') return v
    } catch {
      // YAML escapes JSON does not know (\x41, \e, ...)
    }
    throw UNSURE
  }

  /** The value of a block mapping entry: after `key:` on the same line, or on the lines below. */
  #valueAfter(after: number, parentIndent: number, inSeqItem: boolean): NodeAt {
    const t = this.#t
    let q = after
    while (t.charCodeAt(q) === SPACE || t.charCodeAt(q) === TAB) q++
    const c = t.charCodeAt(q)
    if (q < this.#end && c !== LF && c !== CR && c !== HASH) {
      if (c === 38 || c === 33 || c === 42) throw UNSURE
      return { offset: q, empty: false }
    }
    const emptyAt = q
    const next = this.#nextContentLine(q)
    if (next < 0) return { offset: emptyAt, empty: true }
    const indent = this.#indent
    if (this.#isMarker(next, indent)) return { offset: emptyAt, empty: true }
    const nc = t.charCodeAt(next)
    if (indent > parentIndent) {
      if (nc === 38 || nc === 33 || nc === 42) throw UNSURE
      return { offset: next, empty: false }
    }
    if (!inSeqItem && indent === parentIndent && nc === DASH && isWsOrEol(t.charCodeAt(next + 1))) {
      return { offset: next, empty: false }
    }
    return { offset: emptyAt, empty: true }
  }

  #isMarker(offset: number, indent: number): boolean {
    if (indent !== 0) return false
    const t = this.#t
    return (t.startsWith('---', offset) || t.startsWith('...', offset)) && isWsOrEol(t.charCodeAt(offset + 3))
  }

  /** `first`: what #blockKey said of the mapping's first key. */
  #blockMapValue(offset: number, first: number, seg: string): NodeAt | undefined {
    const col = offset - this.#lineStart(offset)
    let key = first
    for (;;) {
      if (key === 0) throw UNSURE
      if (key > 0) return this.#valueAfter(key, col, false)
      // the next line at this mapping's indentation that is a key; a sequence at the same
      // indentation is the previous key's value
      let line = this.#nextLineAtIndent(-key, col)
      while (line >= 0 && this.#item) line = this.#nextLineAtIndent(line, col)
      if (line < 0) return undefined
      key = this.#blockKey(line, seg)
    }
  }

  #blockSeqItem(offset: number, index: number, node?: CachedNode): NodeAt | undefined {
    const col = offset - this.#lineStart(offset)
    let at = offset
    let i = 0
    const starts = node?.starts
    if (starts !== undefined && starts.length > 0) {
      i = Math.min(index, starts.length - 1)
      at = starts[i] as number
    }
    for (; ; i++) {
      noteStart(node, i, at)
      // the item's value: after "- " on the same line, or on the lines below, deeper than the dash
      if (i === index) return this.#valueAfter(at + 1, col, true)
      this.#passed++
      const line = this.#nextLineAtIndent(at + 1, col)
      // a line at this indentation that is not an item is a key of the mapping that holds this sequence
      if (line < 0 || !this.#item) return undefined
      at = line
    }
  }

  /**
   * The first content line after the line holding `p` that is indented exactly `col`, lines
   * indented deeper skipped: the offset of its content, or -1 at the end, a document marker or
   * a shallower line. #item says whether the line starts a block sequence item ("- ").
   */
  #nextLineAtIndent(p: number, col: number): number {
    const t = this.#t
    for (;;) {
      const nl = t.indexOf('\n', p)
      if (nl < 0 || nl + 1 >= this.#end) return -1
      const line = this.#nextContentLine(nl + 1)
      if (line < 0) return -1
      const indent = this.#indent
      if (this.#isMarker(line, indent) || indent < col) return -1
      if (indent === col) {
        this.#item = t.charCodeAt(line) === DASH && isWsOrEol(t.charCodeAt(line + 1))
        return line
      }
      p = line
    }
  }

  // ---- flow collections (and JSON) ----

  /** Skips spaces, line breaks and comments inside a flow collection. */
  #skipFlowSpace(p: number): number {
    const t = this.#t
    const end = this.#end
    while (p < end) {
      const c = t.charCodeAt(p)
      if (c === SPACE || c === TAB || c === LF || c === CR) p++
      else if (c === HASH) {
        const nl = t.indexOf('\n', p)
        p = nl < 0 ? end : nl + 1
      } else break
    }
    if (p >= end) throw UNSURE
    return p
  }

  /** The end of the flow node starting at p (a collection, a quoted or a plain scalar). */
  #flowNodeEnd(p: number, depth = 0): number {
    const t = this.#t
    const c = t.charCodeAt(p)
    if (c === 38 || c === 33 || c === 42 || c === 63) throw UNSURE
    if (c === 34 || c === 39) return this.#quotedEnd(p)
    if (c === 123 || c === 91) {
      if (depth > 300) throw UNSURE
      const close = c === 123 ? 125 : 93
      let q = this.#skipFlowSpace(p + 1)
      while (t.charCodeAt(q) !== close) {
        q = this.#flowNodeEnd(q, depth + 1)
        q = this.#skipFlowSpace(q)
        if (t.charCodeAt(q) === COLON) {
          if (c === 91) throw UNSURE // a single-pair mapping in a sequence
          q = this.#skipFlowSpace(q + 1)
          q = this.#flowNodeEnd(q, depth + 1)
          q = this.#skipFlowSpace(q)
        } else if (c === 123) throw UNSURE // a key without a value
        if (t.charCodeAt(q) === 44 /* , */) q = this.#skipFlowSpace(q + 1)
        else if (t.charCodeAt(q) !== close) throw UNSURE
      }
      return q + 1
    }
    if (c === 44 || c === 93 || c === 125 || c === COLON) throw UNSURE // an empty node
    return this.#plainEnd(p)
  }

  /** A plain scalar in a flow collection ends before `,` `[` `]` `{` `}`, `: ` or ` #`. */
  #plainEnd(p: number): number {
    const t = this.#t
    const end = this.#end
    let q = p
    let last = p
    while (q < end) {
      const ch = t.charCodeAt(q)
      if (ch === 44 || ch === 91 || ch === 93 || ch === 123 || ch === 125) break
      if (ch === COLON) {
        const n = t.charCodeAt(q + 1)
        if (isWsOrEol(n) || n === 44 || n === 91 || n === 93 || n === 123 || n === 125) break
      }
      if (ch === HASH && (t.charCodeAt(q - 1) === SPACE || t.charCodeAt(q - 1) === TAB || t.charCodeAt(q - 1) === LF)) break
      if (ch !== SPACE && ch !== TAB && ch !== LF && ch !== CR) last = q + 1
      q++
    }
    if (q >= end) throw UNSURE
    return last
  }

  #flowKey(p: number, end: number): string {
    const t = this.#t
    const raw = t.slice(p, end)
    const c = t.charCodeAt(p)
    if (c === 34 || c === 39) {
      if (raw.includes('\n')) throw UNSURE
      return this.#unquote(raw)
    }
    if (c === 123 || c === 91 || raw.includes('\n')) throw UNSURE
    if (typeof resolvePlain(raw) !== 'string') throw UNSURE
    return raw
  }

  #flowChild(offset: number, seg: PathSegment, node?: CachedNode): NodeAt | undefined {
    const t = this.#t
    const isMap = t.charCodeAt(offset) === 123
    if (isMap !== (typeof seg === 'string')) return undefined
    const close = isMap ? 125 : 93
    let q = this.#skipFlowSpace(offset + 1)
    let i = 0
    const starts = isMap ? undefined : node?.starts
    if (starts !== undefined && starts.length > 0) {
      i = Math.min(seg as number, starts.length - 1)
      q = starts[i] as number
    }
    while (t.charCodeAt(q) !== close) {
      const start = q
      if (!isMap) noteStart(node, i, start)
      const keyEnd = this.#flowNodeEnd(q)
      q = this.#skipFlowSpace(keyEnd)
      if (isMap) {
        if (t.charCodeAt(q) !== COLON) throw UNSURE
        const key = this.#flowKey(start, keyEnd)
        const vStart = this.#skipFlowSpace(q + 1)
        const c = t.charCodeAt(vStart)
        if (c === 44 || c === 125) throw UNSURE // an empty value
        if (key === seg) return { offset: vStart, empty: false }
        q = this.#skipFlowSpace(this.#flowNodeEnd(vStart))
      } else {
        if (t.charCodeAt(q) === COLON) throw UNSURE
        if (i === seg) return { offset: start, empty: false }
        this.#passed++
        i++
      }
      if (t.charCodeAt(q) === 44) q = this.#skipFlowSpace(q + 1)
      else if (t.charCodeAt(q) !== close) throw UNSURE
    }
    return undefined
  }
}
