/**
 * `pod-preflight check` on 10,000 pod-bearing documents vs only parsing them with the same
 * YAML parser (yaml's parseAllDocuments + toJS). Both run in this process, interleaved, so the
 * ratio holds on a shared, noisy machine. Run: npm run bench:check
 *
 * The schema check (schema-invalid) is measured apart as well: check as the CLI runs it (with the
 * Kubernetes schemas) against the same check without them, in the same rounds; and the one-off
 * cost of compiling the validators of the kinds used, on a version not used before in the process.
 */
import { performance } from 'node:perf_hooks'
import { LineCounter, parseAllDocuments } from 'yaml'
import { parseDocuments } from '../src/input/documents.js'
import { runCheck } from '../src/cli/run-check.js'
import { RULES } from '../src/rules/index.js'
import { loadDefaultPolicy } from '../src/policy/policy.js'
import { relatedFromObjects } from '../src/engine/related.js'
import { manifests } from './manifests.js'
import { kubernetesSchemas, SHIPPED_VERSIONS } from '../src/schema/kubernetes.js'
import type { SchemaCheck } from '../src/engine/rule.js'

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

/** Time spent validating, summed over a round: the schema check's own share, less exposed to the machine's noise. */
let validateMs = 0
function timed(s: SchemaCheck): SchemaCheck {
  return {
    version: s.version,
    covers: (a, k) => s.covers(a, k),
    validate(o, limit) {
      const t0 = performance.now()
      try {
        return s.validate(o, limit)
      } finally {
        validateMs += performance.now() - t0
      }
    },
  }
}

function checkWith(schemas: boolean): number {
  const { documents, errors } = parseDocuments(text, 'bench.yaml')
  const report = runCheck(documents, errors, {
    policy,
    rules: RULES,
    namespace: 'default',
    related: relatedFromObjects(documents.map((d) => d.value), { complete: false }),
    // As check builds it for each run; the compiled validators are kept for the process.
    ...(schemas ? { schemas: timed(kubernetesSchemas()) } : {}),
    files: 1,
  })
  return report.summary.objects
}
const check = (): number => checkWith(true)
const checkNoSchemas = (): number => checkWith(false)

function time(fn: () => number): { ms: number; n: number } {
  const t0 = performance.now()
  const n = fn()
  return { ms: performance.now() - t0, n }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? NaN
}

// The one-off compile of the validators for the kinds of this set, on a version not used yet.
const compileVersion = SHIPPED_VERSIONS[0] ?? '1.33'
const { documents: sample } = parseDocuments(text, 'bench.yaml')
const kinds = new Map<string, Record<string, unknown>>()
for (const d of sample) {
  const v = d.value as Record<string, unknown>
  const k = `${String(v['apiVersion'])}/${String(v['kind'])}`
  if (!kinds.has(k)) kinds.set(k, v)
}
const fresh = kubernetesSchemas({ version: compileVersion })
const compileMs = time(() => {
  for (const v of kinds.values()) fresh.validate(v, 20)
  return kinds.size
}).ms

// Warm up every path (JIT, validators), then interleave the measured rounds.
time(parseOnly)
time(check)
time(checkNoSchemas)
const parseTimes: number[] = []
const checkTimes: number[] = []
const noSchemaTimes: number[] = []
const validateTimes: number[] = []
let judged = 0
for (let r = 0; r < ROUNDS; r++) {
  parseTimes.push(time(parseOnly).ms)
  validateMs = 0
  const c = time(check)
  checkTimes.push(c.ms)
  validateTimes.push(validateMs)
  noSchemaTimes.push(time(checkNoSchemas).ms)
  judged = c.n
}
const p = median(parseTimes)
const c = median(checkTimes)
const n = median(noSchemaTimes)
const v = median(validateTimes)
const result = {
  documents: COUNT,
  judged,
  bytes: text.length,
  rounds: ROUNDS,
  parseOnlyMs: Math.round(p),
  checkMs: Math.round(c),
  ratio: Math.round((c / p) * 100) / 100,
  target: 1.5,
  checkWithoutSchemasMs: Math.round(n),
  schemaRatio: Math.round((c / n) * 100) / 100,
  schemaTarget: 1.25,
  schemaValidateMs: Math.round(v),
  schemaValidateShare: Math.round((v / n) * 1000) / 1000,
  schemaCompileMs: Math.round(compileMs),
  schemaCompileKinds: kinds.size,
  schemaCompileVsParse: Math.round((compileMs / p) * 100) / 100,
}
process.stdout.write(`${JSON.stringify(result)}\n`)
process.stdout.write(`\n| documents | parse only (median) | check (median) | ratio | target |\n|---|---|---|---|---|\n| ${COUNT} | ${result.parseOnlyMs} ms | ${result.checkMs} ms | ${result.ratio} | ≤ ${result.target} |\n`)
process.stdout.write(
  `\n| documents | check without schemas (median) | check (median) | ratio | target | compiling ${kinds.size} kinds' validators, once |\n|---|---|---|---|---|---|\n` +
    `| ${COUNT} | ${result.checkWithoutSchemasMs} ms | ${result.checkMs} ms | ${result.schemaRatio} | ≤ ${result.schemaTarget} | ${result.schemaCompileMs} ms (${result.schemaCompileVsParse} × parse only) |\n` +
    `\nvalidating alone: ${result.schemaValidateMs} ms a round, ${result.schemaValidateShare} × check without schemas\n`,
)
