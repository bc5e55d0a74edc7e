/**
 * `pod-preflight check` on 10,000 pod-bearing documents against two baselines measured in the
 * same run, interleaved so the ratios hold on a shared, noisy machine:
 *   - js-yaml's loadAll of the same text (values only, no positions, no rules): the floor;
 *   - the previous reader (the yaml package's parseAllDocuments, keeping every position) with
 *     the same rules: what `check` cost before the fast path.
 * Then the start-up time of the built CLI (`check` of one small file) against `node -e 0`
 * (bench/startup.ts, also run alone by npm run bench:startup).
 *
 * The schema check (schema-invalid) is measured apart as well: check as the CLI runs it (with the
 * Kubernetes schemas) against the same check without them, in the same rounds; and the one-off
 * cost of the first validation of each kind used, on a version not used before in the process
 * (reading that version's schemas; nothing is compiled for the built-in kinds).
 * Run: npm run bench:check  (it builds dist/ first, for the start-up part)
 */
import { performance } from 'node:perf_hooks'
import jsyaml from 'js-yaml'
import { parseDocuments } from '../src/input/documents.js'
import { runCheck } from '../src/cli/run-check.js'
import { RULES } from '../src/rules/index.js'
import { loadDefaultPolicy } from '../src/policy/policy.js'
import { relatedFromObjects } from '../src/engine/related.js'
import { manifests } from './manifests.js'
import { measureStartup, startupTable } from './startup.js'
import { kubernetesSchemas, SHIPPED_VERSIONS } from '../src/schema/kubernetes.js'
import type { SchemaCheck } from '../src/engine/rule.js'

const COUNT = Number(process.env['BENCH_DOCS'] ?? 10000)
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3)
const STARTS = Math.max(15, Number(process.env['BENCH_STARTS'] ?? 15))

const text = manifests(COUNT)
const policy = await loadDefaultPolicy(RULES)

function loadOnly(): number {
  let n = 0
  for (const d of jsyaml.loadAll(text)) if (d !== null) n++
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

/** check as the CLI runs it (with the Kubernetes schemas), with the fast or the previous reader. */
function check(exact: boolean, schemas = true): () => number {
  return () => {
    const { documents, errors } = parseDocuments(text, 'bench.yaml', { exact })
    const report = runCheck(documents, errors, {
      policy,
      rules: RULES,
      namespace: 'default',
      related: relatedFromObjects(documents.map((d) => d.value), { complete: false }),
      // As check builds it for each run; the validators are kept for the process.
      ...(schemas ? { schemas: timed(kubernetesSchemas()) } : {}),
      files: 1,
    })
    return report.summary.objects
  }
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
const round2 = (x: number): number => Math.round(x * 100) / 100

// The first validation of each kind of this set, on a version not used yet: reading its schemas.
const firstVersion = SHIPPED_VERSIONS[0] ?? '1.33'
const { documents: sample } = parseDocuments(text, 'bench.yaml')
const kinds = new Map<string, Record<string, unknown>>()
for (const d of sample) {
  const v = d.value as Record<string, unknown>
  const k = `${String(v['apiVersion'])}/${String(v['kind'])}`
  if (!kinds.has(k)) kinds.set(k, v)
}
const fresh = kubernetesSchemas({ version: firstVersion })
const firstUseMs = time(() => {
  for (const v of kinds.values()) fresh.validate(v, 20)
  return kinds.size
}).ms

// Warm up every path (JIT, validators), then interleave the measured rounds.
const fast = check(false)
const fastNoSchemas = check(false, false)
const previous = check(true)
time(loadOnly)
time(fast)
time(fastNoSchemas)
time(previous)
const loadTimes: number[] = []
const checkTimes: number[] = []
const noSchemaTimes: number[] = []
const validateTimes: number[] = []
const previousTimes: number[] = []
let judged = 0
for (let r = 0; r < ROUNDS; r++) {
  loadTimes.push(time(loadOnly).ms)
  validateMs = 0
  const c = time(fast)
  checkTimes.push(c.ms)
  validateTimes.push(validateMs)
  judged = c.n
  noSchemaTimes.push(time(fastNoSchemas).ms)
  previousTimes.push(time(previous).ms)
}
const load = median(loadTimes)
const chk = median(checkTimes)
const noSchemas = median(noSchemaTimes)
const validate = median(validateTimes)
const prev = median(previousTimes)

// Start-up: the built CLI on one small file, against an empty node process, interleaved (bench/startup.ts).
const startup = measureStartup(STARTS)

const docsPerSecond = (ms: number): number => Math.round((COUNT / ms) * 1000)
const result = {
  documents: COUNT,
  judged,
  bytes: text.length,
  rounds: ROUNDS,
  loadAllMs: Math.round(load),
  checkMs: Math.round(chk),
  previousCheckMs: Math.round(prev),
  loadAllDocsPerSecond: docsPerSecond(load),
  checkDocsPerSecond: docsPerSecond(chk),
  previousCheckDocsPerSecond: docsPerSecond(prev),
  ratioToLoadAll: round2(chk / load),
  ratioTarget: 1.5,
  speedUp: round2(prev / chk),
  speedUpTarget: 5,
  startup: startup ?? 'dist/cli/bin.js not built',
  startupTarget: 2,
  checkWithoutSchemasMs: Math.round(noSchemas),
  schemaRatio: round2(chk / noSchemas),
  schemaTarget: 1.25,
  schemaValidateMs: Math.round(validate),
  schemaValidateShare: Math.round((validate / noSchemas) * 1000) / 1000,
  schemaFirstUseMs: Math.round(firstUseMs),
  schemaFirstUseKinds: kinds.size,
  schemaFirstUseVsLoadAll: round2(firstUseMs / load),
}
const mark = (ok: boolean): string => (ok ? 'met' : 'not met')
process.stdout.write(`${JSON.stringify(result)}\n\n`)
process.stdout.write(
  `| documents | js-yaml loadAll | check | check (previous reader) | check / loadAll | speed-up |\n|---|---|---|---|---|---|\n` +
    `| ${COUNT} | ${result.loadAllDocsPerSecond}/s | ${result.checkDocsPerSecond}/s | ${result.previousCheckDocsPerSecond}/s | ${result.ratioToLoadAll} (target ≤ 1.5: ${mark(result.ratioToLoadAll <= 1.5)}) | ${result.speedUp}× (target ≥ 5: ${mark(result.speedUp >= 5)}) |\n`,
)
if (startup !== undefined) process.stdout.write(`\n${startupTable(startup)}`)
process.stdout.write(
  `\n| documents | check without schemas (median) | check (median) | ratio | target | first validation of ${kinds.size} kinds, once |\n|---|---|---|---|---|---|\n` +
    `| ${COUNT} | ${result.checkWithoutSchemasMs} ms | ${result.checkMs} ms | ${result.schemaRatio} | ≤ ${result.schemaTarget} | ${result.schemaFirstUseMs} ms (${result.schemaFirstUseVsLoadAll} × loadAll) |\n` +
    `\nvalidating alone: ${result.schemaValidateMs} ms a round, ${result.schemaValidateShare} × check without schemas\n`,
)
