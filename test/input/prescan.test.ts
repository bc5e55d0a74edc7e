/**
 * The scans that decide, before parsing, whether the fast reader may take a text (aliases,
 * document ends, directives) and whether the text is nested too deeply to read at all. Each is
 * compared with the plain definition it replaces (a regular expression, a loop over every
 * character) on crafted texts and on many random ones built from the characters that matter.
 */
import t from 'tap'
import { flowDepth, hasDocumentEndOrDirective, mayHaveAlias, parseDocuments } from '../../src/input/documents.js'

/** The definitions: what the scans must answer (a false "may" only costs speed, but none is allowed here either). */
const ALIAS = /(?:[:?-]\s+|[[{,]\s*|^[ \t]*)\*[^\s,[\]{}]/m
const DOC_END_OR_DIRECTIVE = /^(?:\.\.\.(?=[ \t\r\n]|$)|%)/m
function flowDepthByCharacter(text: string, bound: number): number {
  let depth = 0
  let max = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i)
    if (inString) {
      if (ch === 92) i++
      else if (ch === 34) inString = false
    } else if (ch === 34) inString = true
    else if (ch === 91 || ch === 123) {
      depth++
      if (depth > max) {
        max = depth
        if (max > bound) return max
      }
    } else if ((ch === 93 || ch === 125) && depth > 0) depth--
  }
  return max
}

const CRAFTED = [
  '',
  '*',
  '*a',
  'a: *x',
  'a:*x',
  'a: b*x',
  '- *x',
  '-*x',
  '? *x',
  '[*x]',
  '{a: *x}',
  '[a,*x]',
  '[a, *x]',
  'a: "*x"',
  'a: |\n  *x\n',
  '  *x',
  '\t*x',
  'a\n*x',
  'a\r*x',
  'a\u2028*x',
  'a:\n\n   *x',
  'a: * x',
  'a: *',
  'a: *]',
  'a: *,',
  'a:\u00a0*x',
  'a:\u00a0\u00a0b',
  'a: **x',
  'x *a *b',
  'cmd: ["sh", "-c", "ls *.jar"]',
  'args: [--glob, "*"]',
  '...',
  '... ',
  '...\n',
  '....',
  'a\n...',
  'a\n... # end',
  'a\n ...',
  '%YAML 1.2\n---',
  'a: 75%',
  'a\n%TAG',
  'a\r%TAG',
  'a\u2029...',
  '...\u2028',
  'a\n...x',
  '"[[["',
  '"\\"[[["',
  '"\\\\"[[',
  "'[[' [",
  '{a: [b, {c: d}]}',
  ']]]}}[{',
  '"unterminated [[[',
  '"a\\\\\\"[" [',
]

/** A text as a label TAP can carry: JSON, with everything outside printable ASCII (U+2028 too) as \\u escapes. */
function shown(s: string): string {
  return JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

t.test('crafted texts: the scans answer as their definitions', async (t) => {
  for (const s of CRAFTED) {
    const label = shown(s)
    t.equal(mayHaveAlias(s), ALIAS.test(s), `${label}: alias`)
    t.equal(hasDocumentEndOrDirective(s), DOC_END_OR_DIRECTIVE.test(s), `${label}: document end or directive`)
    t.equal(flowDepth(s, 256), flowDepthByCharacter(s, 256), `${label}: flow depth`)
    t.equal(flowDepth(s, 1), flowDepthByCharacter(s, 1), `${label}: flow depth, bound 1`)
  }
})

t.test('random texts of the characters that matter: the same answers', async (t) => {
  // A small linear congruential generator: the same texts on every run.
  let seed = 20261206
  const next = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    return seed % n
  }
  const alphabet = ['*', 'a', ' ', '\t', '\n', '\r', ':', '-', '?', ',', '[', ']', '{', '}', '"', '\\', '.', '%', '#', "'", '\u00a0', '\u2028', '\f']
  let disagreements = 0
  let aliases = 0
  let ends = 0
  const runs = 20000
  for (let k = 0; k < runs; k++) {
    let s = ''
    const length = 1 + next(24)
    for (let i = 0; i < length; i++) s += alphabet[next(alphabet.length)]
    const alias = ALIAS.test(s)
    const end = DOC_END_OR_DIRECTIVE.test(s)
    if (alias) aliases++
    if (end) ends++
    if (mayHaveAlias(s) !== alias || hasDocumentEndOrDirective(s) !== end || flowDepth(s, 3) !== flowDepthByCharacter(s, 3)) {
      disagreements++
      if (disagreements <= 5) t.fail(`differs on ${shown(s)}`)
    }
  }
  t.equal(disagreements, 0, `no disagreement in ${runs} texts`)
  // The texts reach both answers of each scan often enough to mean something.
  t.ok(aliases > runs / 20 && aliases < runs - runs / 20, `aliases in ${aliases} of ${runs}`)
  t.ok(ends > runs / 20 && ends < runs - runs / 20, `ends or directives in ${ends} of ${runs}`)
})

t.test('long runs stay linear: spaces before many stars, backslashes before many quotes', async (t) => {
  const stars = `x${' '.repeat(200_000)}${'*a '.repeat(100_000)}`
  t.equal(mayHaveAlias(stars), ALIAS.test(stars))
  const quotes = `"${'\\\\\\"'.repeat(100_000)}" [[`
  t.equal(flowDepth(quotes, 256), flowDepthByCharacter(quotes, 256))
})

t.test('lines and columns across many documents, counted per document', async (t) => {
  const docs: string[] = []
  for (let i = 0; i < 50; i++) docs.push(`${'\n'.repeat(i % 3)}# doc ${i}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c${i}\ndata:\n  k: v${i}\n`)
  const text = `${docs.join('---\n')}`
  const { documents, errors } = parseDocuments(text, 'many.yaml')
  const exact = parseDocuments(text, 'many.yaml', { exact: true })
  t.same(errors, [])
  t.equal(documents.length, 50)
  for (let i = 0; i < documents.length; i++) {
    const d = documents[i]
    const e = exact.documents[i]
    if (d === undefined || e === undefined) continue
    t.same(d.source, e.source, `document ${i}: source`)
    t.same(d.locate(['data', 'k']), e.locate(['data', 'k']), `document ${i}: data.k`)
    t.same(d.locate(['metadata', 'name']), e.locate(['metadata', 'name']), `document ${i}: metadata.name`)
  }
})
