/**
 * `pod-preflight check` on 10,000 pod-bearing documents vs only parsing them with the same
 * YAML parser (yaml's parseAllDocuments + toJS). Both run in this process, interleaved, so the
 * ratio holds on a shared, noisy machine. Run: npm run bench:check
 */
import { performance } from 'node:perf_hooks'
import { LineCounter, parseAllDocuments } from 'yaml'
import { parseDocuments } from '../src/input/documents.js'
import { runCheck } from '../src/cli/run-check.js'
import { RULES } from '../src/rules/index.js'
import { loadDefaultPolicy } from '../src/policy/policy.js'
import { relatedFromObjects } from '../src/engine/related.js'
import { manifests } from './manifests.js'

const COUNT = Number(process.env['BENCH_DOCS'] ?? 10000)
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5)

const text = manifests(COUNT)
const policy = await loadDefaultPolicy(RULES)

function parseOnly(): number {
  const docs = parseAllDocuments(text, { lineCounter: new LineCounter() })
  let n = 0
  for (const d of Array.isArray(docs) ? docs : [docs]) if (d.toJS() !== null) n++
  return n
}

function check(): number {
  const { documents, errors } = parseDocuments(text, 'bench.yaml')
  const report = runCheck(documents, errors, {
    policy,
    rules: RULES,
    namespace: 'default',
    related: relatedFromObjects(documents.map((d) => d.value), { complete: false }),
    files: 1,
  })
  return report.summary.objects
}

function time(fn: () => number): { ms: number; n: number } {
  const t0 = performance.now()
  const n = fn()
  return { ms: performance.now() - t0, n }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? NaN
}

// Warm up both paths (JIT), then interleave the measured rounds.
time(parseOnly)
time(check)
const parseTimes: number[] = []
const checkTimes: number[] = []
let judged = 0
for (let r = 0; r < ROUNDS; r++) {
  parseTimes.push(time(parseOnly).ms)
  const c = time(check)
  checkTimes.push(c.ms)
  judged = c.n
}
const p = median(parseTimes)
const c = median(checkTimes)
const result = {
  documents: COUNT,
  judged,
  bytes: text.length,
  rounds: ROUNDS,
  parseOnlyMs: Math.round(p),
  checkMs: Math.round(c),
  ratio: Math.round((c / p) * 100) / 100,
  target: 1.5,
}
process.stdout.write(`${JSON.stringify(result)}\n`)
process.stdout.write(`\n| documents | parse only (median) | check (median) | ratio | target |\n|---|---|---|---|---|\n| ${COUNT} | ${result.parseOnlyMs} ms | ${result.checkMs} ms | ${result.ratio} | ≤ ${result.target} |\n`)
