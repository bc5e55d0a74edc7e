/**
 * The fast reader (js-yaml values, positions scanned from the text) against the exact reader
 * (the yaml package, which keeps every position): the same documents, values, input errors,
 * and the same line and column for every node of every document, for every finding and every
 * input error of `check`. Over the peer-project corpus (read in place, when present) and the
 * project's own fixtures.
 */
import t from 'tap'
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs'
import { join, relative } from 'node:path'
import { parseDocuments, type ReadResult } from '../../src/input/documents.js'
import type { PathSegment } from '../../src/input/field-path.js'
import { runCheck } from '../../src/cli/run-check.js'
import { RULES } from '../../src/rules/index.js'
import { loadDefaultPolicy } from '../../src/policy/policy.js'
import { relatedFromObjects } from '../../src/engine/related.js'

const ROOT = new URL('../../', import.meta.url).pathname
/** The peer-project corpus beside the checkout (as `npm run conformance` is given it), or POD_PREFLIGHT_CORPUS. */
const CORPUS = [process.env['POD_PREFLIGHT_CORPUS'], join(ROOT, '..', 'shared', 'corpus'), join(ROOT, '..', '..', 'shared', 'corpus')].find(
  (d): d is string => d !== undefined && existsSync(d),
)

function walk(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    const st = statSync(p)
    if (st.isDirectory()) walk(p, out)
    else if (/\.(ya?ml|json)$/.test(name)) out.push(p)
  }
  return out
}

const corpusFiles = CORPUS === undefined ? [] : walk(CORPUS, [])
const files = [...corpusFiles, ...walk(join(ROOT, 'test', 'fixtures'), []), ...walk(join(ROOT, 'examples'), [])]

/** Every path of a value's nodes, and beside them a missing key and an index past the end. */
function paths(v: unknown, prefix: PathSegment[], out: PathSegment[][], budget: { n: number }): void {
  if (budget.n-- <= 0) return
  out.push(prefix)
  if (Array.isArray(v)) {
    v.forEach((x, i) => paths(x, [...prefix, i], out, budget))
    out.push([...prefix, v.length])
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) paths(x, [...prefix, k], out, budget)
    out.push([...prefix, 'no-such-field', 'below'])
  }
}

const policy = await loadDefaultPolicy(RULES)

function checked(r: ReadResult) {
  const report = runCheck(r.documents, r.errors, {
    policy,
    rules: RULES,
    namespace: 'default',
    related: relatedFromObjects(r.documents.map((d) => d.value), { complete: false }),
    files: 1,
  })
  return {
    findings: report.objects.flatMap((o) => o.findings.map((f) => `${f.rule} ${f.path} ${f.source?.line}:${f.source?.column}`)),
    errors: report.errors.map((e) => `${e.file}:${e.line}:${e.column} ${e.message}`),
    warnings: report.warnings.map((e) => `${e.file}:${e.line}:${e.column} ${e.message}`),
  }
}

t.ok(corpusFiles.length >= 300, `the corpus is found (set POD_PREFLIGHT_CORPUS) and at least 300 of its files are compared (${corpusFiles.length}, ${files.length} with the fixtures)`)

t.test('fast and exact readers agree on every file', async (t) => {
  let nodes = 0
  let documents = 0
  let findings = 0
  for (const file of files) {
    const text = readFileSync(file, 'utf8')
    const name = relative(ROOT, file)
    const fast = parseDocuments(text, name)
    const exact = parseDocuments(text, name, { exact: true })
    t.same(fast.errors, exact.errors, `${name}: input errors`)
    t.equal(fast.documents.length, exact.documents.length, `${name}: documents`)
    fast.documents.forEach((d, i) => {
      const e = exact.documents[i]
      if (e === undefined) return
      documents++
      t.same(d.value, e.value, `${name} #${i}: value`)
      t.same(d.source, e.source, `${name} #${i}: source`)
      const all: PathSegment[][] = []
      paths(e.value, [], all, { n: 5000 })
      for (const p of all) {
        nodes++
        const a = d.locate(p)
        const b = e.locate(p)
        if (a.line !== b.line || a.column !== b.column) t.fail(`${name} #${i} ${JSON.stringify(p)}: fast ${a.line}:${a.column}, exact ${b.line}:${b.column}`)
      }
    })
    const a = checked(fast)
    const b = checked(exact)
    findings += b.findings.length + b.errors.length
    t.same(a, b, `${name}: findings, errors and warnings with their lines and columns`)
  }
  t.ok(documents > 300, `${documents} documents, ${nodes} node positions, ${findings} findings and errors compared`)
})

t.test('positions asked of the documents of one text in turn, back and forth, are the exact reader’s', async (t) => {
  // The fast reader keeps the scanner of the document located last only: asking document 1,
  // then 0, then 1 again must rebuild it each time and still answer the same.
  let compared = 0
  for (const file of files) {
    const text = readFileSync(file, 'utf8')
    const fast = parseDocuments(text, 'f.yaml')
    const exact = parseDocuments(text, 'f.yaml', { exact: true })
    if (fast.documents.length < 2) continue
    const per = fast.documents.map((d, i) => {
      const all: PathSegment[][] = []
      paths(exact.documents[i]?.value, [], all, { n: 40 })
      return all
    })
    const longest = Math.max(...per.map((p) => p.length))
    for (let k = 0; k < longest; k++) {
      // Last document first, so that every step changes document.
      for (let i = fast.documents.length - 1; i >= 0; i--) {
        const p = per[i]?.[k]
        if (p === undefined) continue
        const a = fast.documents[i]?.locate(p)
        const b = exact.documents[i]?.locate(p)
        compared++
        if (a?.line !== b?.line || a?.column !== b?.column) t.fail(`${file} #${i} ${JSON.stringify(p)}: fast ${a?.line}:${a?.column}, exact ${b?.line}:${b?.column}`)
      }
    }
  }
  t.ok(compared > 1000, `${compared} positions compared, document after document`)
})
